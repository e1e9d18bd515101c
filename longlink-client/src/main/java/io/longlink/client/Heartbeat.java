package io.longlink.client;

/**
 * Client-side liveness arithmetic: when to send a PING and when the server counts as gone. Pure:
 * it reads no clock; callers pass {@code now} from their ticker, so tests run on a fake one.
 *
 * <p>With a PONG timeout (adaptive heartbeat), a PING sent after a whole interval of silence both
 * ways is a <em>probe</em>: whether the NAT kept the idle flow. Anything read after it answers it;
 * nothing within the PONG timeout is {@link Action#PROBE_UNANSWERED}.
 */
final class Heartbeat {
  enum Action {
    /** Nothing to do now. */
    NONE,
    /** Nothing was written for an interval: send a PING. */
    PING,
    /** Nothing was written or read for an interval: send a PING and call {@link #probeSent}. */
    PROBE,
    /** Nothing was read for interval × misses: the connection is dead. */
    DEAD,
    /** The probe got no answer within the PONG timeout: the connection is dead, likely from NAT expiry. */
    PROBE_UNANSWERED
  }

  private long intervalNanos;
  private final int misses;
  private long deadAfterNanos;
  /** 0: no probes (a fixed interval). */
  private final long pongTimeoutNanos;
  private boolean probing;
  private long lastReadNanos;
  private long lastWriteNanos;
  /** A probe is outstanding, sent at {@link #probeSentNanos} (any value: tickers may start anywhere). */
  private boolean probeOutstanding;
  private long probeSentNanos;

  Heartbeat(long intervalNanos, int misses, long nowNanos) {
    this(intervalNanos, misses, 0, nowNanos);
  }

  Heartbeat(long intervalNanos, int misses, long pongTimeoutNanos, long nowNanos) {
    this.misses = misses;
    this.pongTimeoutNanos = pongTimeoutNanos;
    this.probing = pongTimeoutNanos > 0;
    this.lastReadNanos = nowNanos;
    this.lastWriteNanos = nowNanos;
    interval(intervalNanos);
  }

  /** From now on: a PING after {@code nanos} without writing, dead after {@code nanos} × misses without reading. */
  void interval(long nanos) {
    intervalNanos = nanos;
    deadAfterNanos = nanos * misses;
  }

  long intervalNanos() {
    return intervalNanos;
  }

  /** Whether idle PINGs are probes (adaptive and learning); without a PONG timeout never. */
  void probing(boolean on) {
    probing = on && pongTimeoutNanos > 0;
    if (!probing) {
      probeOutstanding = false;
    }
  }

  /** Something arrived. @return whether it answered an outstanding probe */
  boolean onRead(long nowNanos) {
    lastReadNanos = nowNanos;
    boolean answered = probeOutstanding;
    probeOutstanding = false;
    return answered;
  }

  void onWrite(long nowNanos) {
    lastWriteNanos = nowNanos;
  }

  /** The PING for a {@link Action#PROBE} went out. */
  void probeSent(long nowNanos) {
    probeOutstanding = true;
    probeSentNanos = nowNanos;
    lastWriteNanos = nowNanos;
  }

  Action check(long nowNanos) {
    if (probeOutstanding && nowNanos - probeSentNanos >= pongTimeoutNanos) {
      return Action.PROBE_UNANSWERED;
    }
    if (nowNanos - lastReadNanos >= deadAfterNanos) {
      return Action.DEAD;
    }
    if (nowNanos - lastWriteNanos >= intervalNanos) {
      // A probe only after silence both ways (5 % slack for timer lateness): traffic in between proves nothing.
      boolean idle = probing && !probeOutstanding && nowNanos - lastReadNanos >= intervalNanos - intervalNanos / 20;
      return idle ? Action.PROBE : Action.PING;
    }
    return Action.NONE;
  }

  /** Nanoseconds until {@link #check} may next answer something other than NONE (at least 1 ms). */
  long nanosUntilNextCheck(long nowNanos) {
    long untilPing = lastWriteNanos + intervalNanos - nowNanos;
    long untilDead = lastReadNanos + deadAfterNanos - nowNanos;
    long next = Math.min(untilPing, untilDead);
    if (probeOutstanding) {
      next = Math.min(next, probeSentNanos + pongTimeoutNanos - nowNanos);
    }
    return Math.max(next, 1_000_000L);
  }

  long deadAfterNanos() {
    return deadAfterNanos;
  }

  long pongTimeoutNanos() {
    return pongTimeoutNanos;
  }
}
