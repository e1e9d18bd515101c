package io.longlink.client.heartbeat;

import java.util.Objects;

/**
 * What a client learned about one network's NAT: the heartbeat interval it uses there and the
 * evidence behind it. Immutable; a {@link HeartbeatStore} keeps one per network.
 *
 * @param network the network's identity ({@link io.longlink.client.AdaptiveHeartbeat.Builder#network})
 * @param intervalMs the interval in use
 * @param provenMs the longest interval after which an idle connection was seen to survive (a PING
 *     sent after that much silence was answered); 0 when none is known yet
 * @param failedMs the shortest interval after which an idle connection died the way NAT expiry
 *     kills one; 0 when none did
 * @param holding whether the client stopped lengthening the interval (it stepped back after a
 *     failure, or reached the server's maximum) and waits out a long stable period before trying
 *     longer again
 * @param sinceEpochMs when the current interval was chosen (wall clock: it outlives the process)
 */
public record LearnedHeartbeat(String network, long intervalMs, long provenMs, long failedMs, boolean holding,
    long sinceEpochMs) {
  public LearnedHeartbeat {
    Objects.requireNonNull(network, "network");
    if (intervalMs <= 0 || provenMs < 0 || failedMs < 0) {
      throw new IllegalArgumentException("heartbeat of " + network + ": interval " + intervalMs + " ms, proven "
          + provenMs + " ms, failed " + failedMs + " ms (expected: interval > 0, others >= 0)");
    }
  }
}
