package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.SessionStatus;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Supplier;
import io.longlink.server.Limits;
import io.longlink.server.NodeStats;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Publishes a node's numbers to a Micrometer registry (Prometheus names: {@code longlink_...},
 * {@code _total} counters, base units). Everything is read from the gateway's own counters when
 * scraped, so the hot path never touches Micrometer; only the sampled heartbeat RTT is recorded into
 * a timer as it happens.
 */
final class GatewayMetrics {
  private GatewayMetrics() {}

  /**
   * What {@link #bind} leaves behind: the RTT timer to record into, the GC listener to close with the
   * node, and the sweep totals' source, which the node must hold (meters hold their source weakly).
   */
  record Bound(Timer heartbeatRtt, io.micrometer.core.instrument.DistributionSummary clientIntervals,
      AutoCloseable gcMetrics, Supplier<NodeStats.SweepTotals> sweepTotals) {}

  static Bound bind(MeterRegistry r, Gateway g, Supplier<NodeStats.SweepTotals> sweepTotals) {
    NodeCounters n = g.counters;
    LocalSessions sessions = g.sessions();
    Gauge.builder("longlink.connections.open", n.connections, LongAdder::sum)
        .description("Open client connections, handshaking or logged in").register(r);
    Gauge.builder("longlink.sessions", sessions.store, s -> s.size() - s.detachedCount()).tag("state", "attached")
        .description("Sessions by state").register(r);
    Gauge.builder("longlink.sessions", sessions.store, SessionStore::detachedCount).tag("state", "detached")
        .description("Sessions by state").register(r);
    Gauge.builder("longlink.topics", sessions.topics, TopicRegistry::topicCount).description("Topics with subscribers")
        .register(r);
    Gauge.builder("longlink.replay.buffer.messages", sessions.replayLimits.buffered(), LongAdder::sum)
        .description("Messages in sessions' replay buffers: sent and awaiting the client's ACK, or not yet sent")
        .register(r);
    Gauge.builder("longlink.replay.buffer", sessions.replayLimits.bufferedBytes(), LongAdder::sum).baseUnit("bytes")
        .description("Replay buffer occupancy in bytes (payloads, names and per-message overhead)").register(r);
    SessionDirectory d = g.directory;
    Gauge.builder("longlink.presence.sessions", d, x -> x.presenceCounts().nodeSessions()).tag("scope", "node")
        .description("Online device sessions (protocol version 3): on this node, or cluster-wide").register(r);
    Gauge.builder("longlink.presence.sessions", d, x -> x.presenceCounts().clusterSessions()).tag("scope", "cluster")
        .description("Online device sessions (protocol version 3): on this node, or cluster-wide").register(r);
    Gauge.builder("longlink.presence.users", d, x -> x.presenceCounts().nodeUsers()).tag("scope", "node")
        .description("Users with an online device: on this node, or cluster-wide").register(r);
    Gauge.builder("longlink.presence.users", d, x -> x.presenceCounts().clusterUsers()).tag("scope", "cluster")
        .description("Users with an online device: on this node, or cluster-wide").register(r);
    Gauge.builder("longlink.requests.in.flight", g.requests, RequestDispatcher::inFlightCount)
        .description("Requests being processed or awaiting another client's answer").register(r);
    for (SessionStatus s : SessionStatus.values()) {
      counter(r, "longlink.handshakes", "Logins and resumes, by outcome", n.handshakesOk.get(s),
          "result", "ok", "session", s.name().toLowerCase(Locale.ROOT));
    }
    for (Map.Entry<ErrorCode, LongAdder> e : n.handshakesFailed.entrySet()) {
      counter(r, "longlink.handshakes.failed", "HELLOs refused, by the code the client got", e.getValue(),
          "reason", e.getKey().name().toLowerCase(Locale.ROOT));
    }
    for (Map.Entry<CloseReason, LongAdder> e : n.closes.entrySet()) {
      counter(r, "longlink.connection.closes", "Closed connections, by reason", e.getValue(), "reason", e.getKey().label());
    }
    for (Map.Entry<ErrorCode, LongAdder> e : n.goAways.entrySet()) {
      counter(r, "longlink.goaways", "GOAWAYs sent to logged-in clients, by code", e.getValue(),
          "reason", e.getKey().name().toLowerCase(Locale.ROOT));
    }
    for (Map.Entry<Limits.Limit, LongAdder> e : n.limitHits.entrySet()) {
      counter(r, "longlink.limit.hits", "Clients refused or cut for breaking a bound", e.getValue(),
          "limit", e.getKey().name().toLowerCase(Locale.ROOT));
    }
    for (Map.Entry<TlsFailure, LongAdder> e : n.tlsFailures.entrySet()) {
      counter(r, "longlink.tls.handshake.failures", "TLS handshakes that failed, by reason", e.getValue(),
          "reason", e.getKey().label());
    }
    for (Map.Entry<WsFailure, LongAdder> e : n.wsFailures.entrySet()) {
      counter(r, "longlink.ws.failures", "WebSocket upgrades refused and WebSocket connections closed for bad "
          + "messages, by reason", e.getValue(), "reason", e.getKey().label());
    }
    counter(r, "longlink.token.refreshes", "Fresh tokens (AUTH) from logged-in clients, by outcome", n.refreshes,
        "result", "ok");
    counter(r, "longlink.token.refreshes", "Fresh tokens (AUTH) from logged-in clients, by outcome", n.refreshesFailed,
        "result", "refused");
    counter(r, "longlink.auth.unavailable", "Logins refused because the authenticator could not decide (callout down, "
        + "slow or answering garbage): the client retries after a delay", n.authUnavailable);
    counter(r, "longlink.forbidden", "Client messages, subscribes and requests the authorizer refused", n.forbidden);
    counter(r, "longlink.resumes", "Resumes, by outcome", n.resumed, "result", "ok");
    counter(r, "longlink.resumes", "Resumes, by outcome", n.resumesLost, "result", "lost");
    counter(r, "longlink.reconnects", "HELLOs that asked to resume a session: clients coming back", n.resumeAttempts);
    counter(r, "longlink.messages.in", "Client messages accepted (DATA)", n.messagesIn);
    counter(r, "longlink.heartbeats", "PINGs received from clients: their heartbeats, sent when they had nothing else "
        + "to send", n.heartbeats);
    counter(r, "longlink.messages.out", "Messages written to clients (DATA, replays included)", n.messagesOut);
    counter(r, "longlink.writes.coalesced", "Connection writes gathered into an event loop's write pass while it wrote "
        + "to many connections at once (--write-coalescing)", n.coalescedWrites);
    FunctionCounter.builder("longlink.received", n.bytesIn, LongAdder::sum).baseUnit("bytes")
        .description("Bytes received from clients").register(r);
    FunctionCounter.builder("longlink.sent", n.bytesOut, LongAdder::sum).baseUnit("bytes")
        .description("Bytes written to clients").register(r);
    // Mean sweep time = rate(longlink_liveness_sweep_seconds_total) / rate(longlink_liveness_sweeps_total), per kind.
    String sweeps = "Finished liveness sweeps over every connection of an event loop: checking deadlines only, or "
        + "also turning the one-second window (giving back what idle connections need not keep)";
    String sweepTime = "Event-loop time spent in liveness sweeps, by kind";
    FunctionCounter.builder("longlink.liveness.sweeps", sweepTotals, x -> x.get().sweeps()).tag("kind", "deadlines")
        .description(sweeps).register(r);
    FunctionCounter.builder("longlink.liveness.sweeps", sweepTotals, x -> x.get().windowSweeps()).tag("kind", "window")
        .description(sweeps).register(r);
    FunctionCounter.builder("longlink.liveness.sweep", sweepTotals, x -> x.get().sweepNanos() / 1e9)
        .baseUnit("seconds").tag("kind", "deadlines").description(sweepTime).register(r);
    FunctionCounter.builder("longlink.liveness.sweep", sweepTotals, x -> x.get().windowSweepNanos() / 1e9)
        .baseUnit("seconds").tag("kind", "window").description(sweepTime).register(r);
    counter(r, "longlink.messages.dropped", "Messages dropped under the drop-oldest slow-consumer policy",
        sessions.replayLimits.dropped());
    counter(r, "longlink.sender.pauses", "Senders held back until the client they send to caught up (backpressure)",
        n.senderPauses);
    counter(r, "longlink.messages.undeliverable", "Messages to a client id with no session", n.undeliverable);
    counter(r, "longlink.sessions.expired", "Detached sessions whose retention ran out", n.sessionsExpired);
    counter(r, "longlink.sessions.evicted", "Detached sessions evicted to stay within bounds", n.sessionsEvicted);
    counter(r, "longlink.requests", "Requests, by outcome", g.requests.handled, "result", "ok");
    counter(r, "longlink.requests", "Requests, by outcome", g.requests.failed, "result", "failed");
    counter(r, "longlink.requests", "Requests, by outcome", g.requests.expired, "result", "expired");
    counter(r, "longlink.requests", "Requests, by outcome", g.requests.cancelled, "result", "cancelled");
    counter(r, "longlink.requests", "Requests, by outcome", g.requests.forwarded, "result", "forwarded");
    switch (g.directory) {
      case ClusterDirectory c -> bindCluster(r, c);
      case LocalDirectory l -> { } // nothing beyond the node's own numbers
    }
    new JvmMemoryMetrics().bindTo(r);
    JvmGcMetrics gc = new JvmGcMetrics(); // listens to GC notifications until closed
    gc.bindTo(r);
    new JvmThreadMetrics().bindTo(r);
    new ProcessorMetrics().bindTo(r);
    new NettyAllocatorMetrics(PooledByteBufAllocator.DEFAULT).bindTo(r);
    return new Bound(Timer.builder("longlink.heartbeat.rtt")
        .description("Round trip of the gateway's sampled PINGs")
        .publishPercentiles(0.5, 0.9, 0.99)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(50_000))
        .maximumExpectedValue(Duration.ofSeconds(30))
        .register(r),
        io.micrometer.core.instrument.DistributionSummary.builder("longlink.heartbeat.client.interval")
            .description("Heartbeat intervals announced by clients that adapt theirs to their network (HEARTBEAT), "
                + "within the node's bounds: each announcement once")
            .baseUnit("seconds")
            .serviceLevelObjectives(5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1800)
            .publishPercentiles(0.5, 0.9)
            .register(r),
        gc, sweepTotals);
  }

  /** Pending tasks of each event loop: a loop that falls behind shows here first. */
  private static void bindCluster(MeterRegistry r, ClusterDirectory c) {
    Gauge.builder("longlink.cluster.store.up", c, x -> x.available() ? 1 : 0)
        .description("1 while the cluster store (Redis) is reachable, 0 while the node runs degraded").register(r);
    Gauge.builder("longlink.cluster.sessions.dirty", c, ClusterDirectory::dirtySessions)
        .description("Sessions kept only in this node's memory until the store is back").register(r);
    counter(r, "longlink.cluster.rejected", "Messages answered with REJECT: the store was unavailable", c.rejected);
    counter(r, "longlink.cluster.fenced", "Sessions let go because they moved to another node", c.fenced);
    counter(r, "longlink.cluster.restored", "Sessions written back to the store after an outage", c.restored);
    counter(r, "longlink.cluster.claims", "Resumes that claimed their session from the store", c.claims);
    counter(r, "longlink.cluster.store.errors", "Store operations that failed", c.storeErrors);
  }

  static void bindLoops(MeterRegistry r, Iterable<EventExecutor> loops) {
    int i = 0;
    for (EventExecutor loop : loops) {
      if (loop instanceof SingleThreadEventExecutor st) {
        Gauge.builder("longlink.event.loop.pending.tasks", st, SingleThreadEventExecutor::pendingTasks)
            .tag("loop", Integer.toString(i)).description("Tasks queued on an event loop").register(r);
      }
      i++;
    }
  }

  private static void counter(MeterRegistry r, String name, String description, LongAdder source, String... tags) {
    FunctionCounter.builder(name, source, LongAdder::sum).description(description).tags(tags).register(r);
  }

  static void recordRtt(Timer t, long nanos) {
    t.record(nanos, TimeUnit.NANOSECONDS);
  }
}
