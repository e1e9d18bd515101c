package io.longlink.client;

/**
 * An idle client against a model NAT that silently forgets a flow idle for {@code natMs} or longer,
 * on simulated time: how many heartbeats it sends, how often it reconnects and how long its
 * connection is dead (a message to it would wait) within {@code durationMs}. The same rules as the
 * client: a PING after a whole idle interval; an adaptive client reconnects when that PING is not
 * answered within the PONG timeout, a fixed one after interval × misses without reading anything.
 */
final class HeartbeatSimulation {
  /** {@code learningReconnects}: those before the interval was first held. */
  record Result(long heartbeats, long reconnects, long deadMs, long settledMs, long learningReconnects) {}

  private HeartbeatSimulation() {}

  static Result adaptive(HeartbeatLearner learner, long natMs, long minMs, long startMs, long maxMs, long pongTimeoutMs,
      long durationMs) {
    HeartbeatLearner.Step step = learner.start("model", null, minMs, startMs, maxMs, 0);
    long t = 0;
    long heartbeats = 0;
    long reconnects = 0;
    long dead = 0;
    long learningReconnects = -1;
    while (t + step.state().intervalMs() <= durationMs) {
      if (learningReconnects < 0 && step.state().holding()) {
        learningReconnects = reconnects;
      }
      long interval = step.state().intervalMs();
      t += interval;
      heartbeats++;
      if (interval < natMs) {
        step = learner.survived(step.state(), step.beats(), maxMs, t);
      } else {
        dead += interval - natMs + pongTimeoutMs; // from the mapping's expiry to the reconnect
        t += pongTimeoutMs;
        reconnects++;
        step = learner.expired(step.state(), minMs, t);
      }
    }
    return new Result(heartbeats, reconnects, dead, step.state().intervalMs(), learningReconnects);
  }

  static Result fixed(long intervalMs, int misses, long natMs, long durationMs) {
    long lastRead = 0; // the connection's start, or the last PONG
    long heartbeats = 0;
    long reconnects = 0;
    long dead = 0;
    long t = 0;
    while (t + intervalMs <= durationMs) {
      t += intervalMs;
      heartbeats++;
      if (intervalMs < natMs) {
        lastRead = t;
        continue;
      }
      // The PING is lost, and so are the next ones, until interval × misses without reading: reconnect.
      long reconnectAt = lastRead + intervalMs * misses;
      while (t + intervalMs < reconnectAt && t + intervalMs <= durationMs) {
        t += intervalMs;
        heartbeats++;
      }
      dead += Math.min(reconnectAt, durationMs) - (lastRead + natMs);
      t = reconnectAt;
      lastRead = t;
      reconnects++;
    }
    return new Result(heartbeats, reconnects, dead, intervalMs, reconnects);
  }
}
