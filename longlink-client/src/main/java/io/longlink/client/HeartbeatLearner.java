package io.longlink.client;

import io.longlink.client.heartbeat.LearnedHeartbeat;

/**
 * How a client finds the longest heartbeat interval its network's NAT allows, in the manner of Tencent
 * Mars' smart heartbeat: start from the server's interval; after {@code beatsToGrow} idle periods
 * survived in a row, lengthen it by {@code step}; when an idle connection dies the way NAT expiry
 * kills one, go back to the last interval that survived and hold there; try longer again only after
 * {@code relearnAfterMs} of holding. An interval that fails with nothing proven yet is halved (down to
 * the minimum), so a NAT far below the start costs two or three reconnects, not one per step; one that
 * had survived before and now fails is stepped back from and held.
 *
 * <p>With a step of 1.15 the interval it holds is at least 1/1.15 = 87 % of the NAT's timeout: the
 * one above failed, the one it holds survived.
 *
 * <p>Pure: every input, the time included, is an argument, and every answer a new value.
 */
final class HeartbeatLearner {
  /** What an event did to the interval. */
  enum Change {
    /** Nothing. */
    NONE,
    /** Lengthened after a run of survived idle periods. */
    GREW,
    /** Stopped lengthening: the next step reaches an interval that failed, or the server's maximum. */
    HELD,
    /** An idle connection died: back to the longest interval that survived, held there. */
    STEPPED_BACK,
    /** An idle connection died with nothing shorter proven: halved. */
    HALVED,
    /** Held for a long stable period: lengthening again. */
    RELEARNING
  }

  /** The state after an event, how many survived idle periods in a row at its interval, and what changed. */
  record Step(LearnedHeartbeat state, int beats, Change change) {}

  private final double step;
  private final int beatsToGrow;
  private final long relearnAfterMs;

  HeartbeatLearner(double step, int beatsToGrow, long relearnAfterMs) {
    if (!(step > 1.0 && step <= 4.0) || beatsToGrow < 1 || relearnAfterMs <= 0) {
      throw new IllegalArgumentException("heartbeat learning: step " + step + ", beats to grow " + beatsToGrow
          + ", relearn after " + relearnAfterMs + " ms (expected: 1 < step <= 4, beats >= 1, relearn > 0)");
    }
    this.step = step;
    this.beatsToGrow = beatsToGrow;
    this.relearnAfterMs = relearnAfterMs;
  }

  /**
   * Where to start on {@code network} within the server's bounds: what was learned there (clamped;
   * a hold that has lasted its period is let go), else the server's interval.
   */
  Step start(String network, LearnedHeartbeat stored, long minMs, long startMs, long maxMs, long nowMs) {
    if (stored == null) {
      return new Step(new LearnedHeartbeat(network, clamp(startMs, minMs, maxMs), 0, 0, false, nowMs), 0, Change.NONE);
    }
    long interval = clamp(stored.intervalMs(), minMs, maxMs);
    long proven = Math.min(stored.provenMs(), maxMs);
    long failed = stored.failedMs() > maxMs ? 0 : stored.failedMs();
    if (stored.holding() && nowMs - stored.sinceEpochMs() >= relearnAfterMs) {
      return new Step(new LearnedHeartbeat(network, interval, proven, 0, false, nowMs), 0, Change.RELEARNING);
    }
    boolean holding = stored.holding() || interval == maxMs;
    return new Step(new LearnedHeartbeat(network, interval, proven, failed, holding, stored.sinceEpochMs()), 0,
        Change.NONE);
  }

  /** A PING sent after a whole interval of silence was answered: the NAT kept the idle flow that long. */
  Step survived(LearnedHeartbeat s, int beats, long maxMs, long nowMs) {
    long proven = Math.max(s.provenMs(), s.intervalMs());
    if (s.holding()) {
      if (nowMs - s.sinceEpochMs() >= relearnAfterMs && s.intervalMs() < maxMs) {
        return grow(new LearnedHeartbeat(s.network(), s.intervalMs(), proven, 0, false, nowMs), maxMs, nowMs,
            Change.RELEARNING);
      }
      return new Step(with(s, proven), beats + 1, Change.NONE);
    }
    if (beats + 1 < beatsToGrow) {
      return new Step(with(s, proven), beats + 1, Change.NONE);
    }
    return grow(with(s, proven), maxMs, nowMs, Change.GREW);
  }

  private Step grow(LearnedHeartbeat s, long maxMs, long nowMs, Change change) {
    long next = Math.min(maxMs, Math.max(s.intervalMs() + 1, Math.round(s.intervalMs() * step)));
    if (next <= s.intervalMs() || (s.failedMs() > 0 && next >= s.failedMs())) {
      return new Step(new LearnedHeartbeat(s.network(), s.intervalMs(), s.provenMs(), s.failedMs(), true, nowMs), 0,
          Change.HELD);
    }
    return new Step(new LearnedHeartbeat(s.network(), next, s.provenMs(), s.failedMs(), false, nowMs), 0, change);
  }

  /** The connection died after a whole interval of silence, without a reset: the NAT forgot the flow. */
  Step expired(LearnedHeartbeat s, long minMs, long nowMs) {
    long interval = s.intervalMs();
    long failed = s.failedMs() == 0 ? interval : Math.min(s.failedMs(), interval);
    if (s.provenMs() > 0 && s.provenMs() < interval) {
      return new Step(new LearnedHeartbeat(s.network(), Math.max(minMs, s.provenMs()), s.provenMs(), failed, true,
          nowMs), 0, Change.STEPPED_BACK);
    }
    if (s.provenMs() >= interval) {
      // What survived before no longer does (a marginal interval, or the NAT changed): one step shorter, held.
      long back = Math.max(minMs, Math.round(interval / step));
      return new Step(new LearnedHeartbeat(s.network(), back, 0, failed, true, nowMs), 0, Change.STEPPED_BACK);
    }
    // Nothing survived yet: far below where we started, so halve rather than creep down a step at a time.
    long half = Math.max(minMs, interval / 2);
    return new Step(new LearnedHeartbeat(s.network(), half, 0, failed, half == minMs, nowMs), 0, Change.HALVED);
  }

  private static LearnedHeartbeat with(LearnedHeartbeat s, long proven) {
    return proven == s.provenMs() ? s
        : new LearnedHeartbeat(s.network(), s.intervalMs(), proven, s.failedMs(), s.holding(), s.sinceEpochMs());
  }

  private static long clamp(long v, long min, long max) {
    return Math.max(min, Math.min(max, v));
  }
}
