package io.longlink.client;

/**
 * Client-side liveness arithmetic: when to send a PING and when the server counts as gone. Pure:
 * it reads no clock; callers pass {@code now} from their ticker, so tests run on a fake one.
 */
final class Heartbeat {
  enum Action {
    /** Nothing to do now. */
    NONE,
    /** Nothing was written for an interval: send a PING. */
    PING,
    /** Nothing was read for interval × misses: the connection is dead. */
    DEAD
  }

  private final long intervalNanos;
  private final long deadAfterNanos;
  private long lastReadNanos;
  private long lastWriteNanos;

  Heartbeat(long intervalNanos, int misses, long nowNanos) {
    this.intervalNanos = intervalNanos;
    this.deadAfterNanos = intervalNanos * misses;
    this.lastReadNanos = nowNanos;
    this.lastWriteNanos = nowNanos;
  }

  void onRead(long nowNanos) {
    lastReadNanos = nowNanos;
  }

  void onWrite(long nowNanos) {
    lastWriteNanos = nowNanos;
  }

  Action check(long nowNanos) {
    if (nowNanos - lastReadNanos >= deadAfterNanos) {
      return Action.DEAD;
    }
    if (nowNanos - lastWriteNanos >= intervalNanos) {
      return Action.PING;
    }
    return Action.NONE;
  }

  /** Nanoseconds until {@link #check} may next answer something other than NONE (at least 1 ms). */
  long nanosUntilNextCheck(long nowNanos) {
    long untilPing = lastWriteNanos + intervalNanos - nowNanos;
    long untilDead = lastReadNanos + deadAfterNanos - nowNanos;
    return Math.max(Math.min(untilPing, untilDead), 1_000_000L);
  }

  long deadAfterNanos() {
    return deadAfterNanos;
  }
}
