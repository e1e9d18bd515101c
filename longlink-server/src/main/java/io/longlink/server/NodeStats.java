package io.longlink.server;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * A node's numbers at one moment ({@link LonglinkServer#stats()}): what it holds now and what it
 * counted since it started. Immutable; each value is read on its own, so two of them may be a few
 * microseconds apart on a busy node. The Prometheus metrics ({@code GET /metrics}) carry the same
 * counters and more.
 *
 * @param connections open connections, logged in or not
 * @param sessions sessions, attached or detached
 * @param detachedSessions sessions kept for resume while their client is away
 * @param topics topics with at least one subscriber on this node
 * @param resumed successful resumes
 * @param resumesLost resumes answered LOST (the client got a new session and a count of what it lost)
 * @param limitHits clients refused or cut per bound (every {@link Limits.Limit} has an entry)
 * @param trackedAddresses remote addresses the per-address limits track now (0 when those are off)
 * @param droppedMessages messages dropped from full replay buffers under {@link
 *     ServerConfig.SlowConsumerPolicy#DROP_OLDEST} (each reported to its client by a GAP)
 * @param senderPauses times a client was held back (its connection stopped reading) because the one
 *     client it sends to had more than half its replay buffer unacknowledged
 * @param coalescedWrites connection writes that waited for their event loop's write pass ({@link
 *     ServerConfig#writeCoalescing})
 * @param undeliverable messages addressed to a client id that had no session
 * @param requestsHandled requests the request handler answered, successfully or not
 * @param requestsForwarded requests passed on to another client
 * @param requestsExpired requests dropped unprocessed because their deadline had passed
 * @param requestsCancelled requests stopped by a CANCEL or by their connection closing
 * @param requestsInFlight requests being processed or awaiting another client's answer now
 * @param livenessSweeps the liveness sweeps so far, over every event loop
 * @param clusterUnavailable why the node cannot reach its cluster store now; empty when it can (or
 *     runs alone). While it cannot, local clients are served from memory, messages to other nodes are
 *     rejected, and {@code /readyz} says "degraded"
 * @param online online devices and users (sessions with a device id, protocol version 3), on this node
 *     and cluster-wide
 */
public record NodeStats(int connections, int sessions, int detachedSessions, int topics, long resumed,
    long resumesLost, Map<Limits.Limit, Long> limitHits, int trackedAddresses, long droppedMessages,
    long senderPauses, long coalescedWrites, long undeliverable, long requestsHandled, long requestsForwarded,
    long requestsExpired, long requestsCancelled, int requestsInFlight, SweepTotals livenessSweeps,
    String clusterUnavailable, Online online) {

  /**
   * Online devices (sessions with a device id whose connection is up or dropped within the presence
   * grace) and the users they belong to.
   *
   * @param sessions online device sessions on this node
   * @param users users with an online device on this node
   * @param clusterSessions online device sessions cluster-wide (the same as {@code sessions} on a
   *     single node; in a cluster at most a presence lease old)
   * @param clusterUsers users online cluster-wide
   */
  public record Online(long sessions, long users, long clusterSessions, long clusterUsers) {}

  public NodeStats {
    EnumMap<Limits.Limit, Long> hits = new EnumMap<>(Limits.Limit.class);
    for (Limits.Limit l : Limits.Limit.values()) {
      hits.put(l, limitHits.getOrDefault(l, 0L));
    }
    limitHits = java.util.Collections.unmodifiableMap(hits);
    Objects.requireNonNull(livenessSweeps, "livenessSweeps");
    Objects.requireNonNull(clusterUnavailable, "clusterUnavailable");
    Objects.requireNonNull(online, "online");
  }

  /** Clients refused or cut for breaking {@code limit}. */
  public long limitHits(Limits.Limit limit) {
    return limitHits.get(limit);
  }

  /**
   * Liveness sweeps, over every event loop: how many and how long in all, of both kinds. Subtract an
   * earlier value ({@link #since}) for the sweeps in between.
   *
   * @param sweeps sweeps that only checked every connection's heartbeat deadline
   * @param sweepNanos their total duration
   * @param windowSweeps sweeps that also turned the one-second window, giving back what connections
   *     idle for that second need not keep (one per event loop per second)
   * @param windowSweepNanos their total duration
   * @param fewestWindowTurns window sweeps of the event loop with the fewest
   */
  public record SweepTotals(long sweeps, long sweepNanos, long windowSweeps, long windowSweepNanos,
      long fewestWindowTurns) {
    /** No sweeps at all. */
    public static final SweepTotals NONE = new SweepTotals(0, 0, 0, 0, 0);

    /** The sweeps between {@code earlier} and this. */
    public SweepTotals since(SweepTotals earlier) {
      return new SweepTotals(sweeps - earlier.sweeps, sweepNanos - earlier.sweepNanos, windowSweeps - earlier.windowSweeps,
          windowSweepNanos - earlier.windowSweepNanos, fewestWindowTurns - earlier.fewestWindowTurns);
    }

    /** Mean duration of a deadline-only sweep, in milliseconds; 0 if none. */
    public double meanSweepMillis() {
      return sweeps == 0 ? 0 : sweepNanos / 1e6 / sweeps;
    }

    /** Mean duration of a window sweep, in milliseconds; 0 if none. */
    public double meanWindowSweepMillis() {
      return windowSweeps == 0 ? 0 : windowSweepNanos / 1e6 / windowSweeps;
    }
  }
}
