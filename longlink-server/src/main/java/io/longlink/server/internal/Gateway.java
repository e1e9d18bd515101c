package io.longlink.server.internal;

import io.longlink.protocol.Ticker;
import io.longlink.server.Authenticator;
import io.longlink.server.MessageHandler;
import io.longlink.server.RequestHandler;
import io.longlink.server.ServerConfig;
import io.longlink.server.spi.ClusterStore;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongConsumer;

/**
 * What every connection of a node shares: its settings, counters, clock and plug-ins, and the
 * per-node parts that decide ({@link Handshake}, {@link SessionDirectory}, {@link
 * RequestDispatcher}, {@link AddressLimiter}). Holds no state of its own and routes nothing: it is
 * how a connection reaches the node (one reference, through its {@link LoopContext}). Thread-safe.
 */
final class Gateway {
  final ServerConfig config;
  final Ticker ticker;
  final NodeCounters counters = new NodeCounters();
  final MessageHandler messageHandler;
  /** Local or cluster, chosen here once: nothing on the frame path asks which. */
  final SessionDirectory directory;
  final Handshake handshake;
  final RequestDispatcher requests;
  final AddressLimiter addresses;
  final long deadPeerTimeoutNanos;
  final long handshakeTimeoutNanos;
  /** Round trips of the gateway's sampled PINGs; set once the node's metrics are bound (a Micrometer timer). */
  volatile LongConsumer heartbeatRttNanos = nanos -> {};
  /** Intervals clients announced with HEARTBEAT, after clamping; set once the node's metrics are bound. */
  volatile LongConsumer clientIntervalMillis = millis -> {};
  private final int heartbeatMinTenths;
  private final int heartbeatMaxTenths;
  /** When the node was made: connection ages are counted from here, in tenths of a second, to fit an int. */
  final long startNanos;
  final long startEpochMillis = System.currentTimeMillis();

  /** @param clusterStore {@code null} for a single node */
  Gateway(ServerConfig config, Authenticator authenticator, io.longlink.server.Authorizer authorizer,
      MessageHandler messageHandler,
      RequestHandler requestHandler, Ticker ticker, ClusterStore clusterStore) {
    this.config = config;
    this.ticker = ticker;
    this.messageHandler = messageHandler;
    this.startNanos = ticker.nanoTime();
    this.deadPeerTimeoutNanos = config.deadPeerTimeout().toNanos();
    this.handshakeTimeoutNanos = config.handshakeTimeout().toNanos();
    this.heartbeatMinTenths = (int) Math.max(1, config.heartbeatMin().toMillis() / 100);
    this.heartbeatMaxTenths = (int) (config.heartbeatMax().toMillis() / 100);
    java.time.Clock clock = java.time.Clock.systemUTC(); // wall time only for presence's "since" and "at"
    LocalSessions sessions = new LocalSessions(config, counters, clock);
    this.directory = clusterStore == null ? new LocalDirectory(sessions, counters, ticker, config, clock)
        : new ClusterDirectory(clusterStore, sessions, config, ticker, clock);
    this.handshake = new Handshake(config, authenticator, authorizer, directory, counters, ticker);
    this.requests = new RequestDispatcher(requestHandler, config.maxRequestsInFlight(), System::currentTimeMillis,
        sessions.store);
    this.addresses = new AddressLimiter(config.limits().maxConnectionsPerAddress(),
        config.limits().maxNewConnectionsPerSecondPerAddress());
  }

  /**
   * A client's announced heartbeat interval as a connection keeps it: in tenths of a second, clamped
   * to the node's bounds (docs/PROTOCOL.md, HEARTBEAT).
   */
  char heartbeatTenths(int intervalMs) {
    return (char) Math.clamp(intervalMs / 100, heartbeatMinTenths, heartbeatMaxTenths);
  }

  /** Completed when the last connection leaves, while a drain waits for that; else {@code null}. */
  private volatile CompletableFuture<Void> emptied;

  /** A connection closed (after its session settled): counted, and a waiting drain told if it was the last. */
  void left() {
    counters.connections.decrement();
    CompletableFuture<Void> f = emptied;
    if (f != null && counters.connections.sum() == 0) {
      f.complete(null);
    }
  }

  /** Completes once no connection is open (at once, if none is). */
  CompletableFuture<Void> whenEmpty() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    emptied = f;
    if (counters.connections.sum() == 0) { // after publishing f: a close from now on completes it too
      f.complete(null);
    }
    return f;
  }

  /** The sessions this node holds. */
  LocalSessions sessions() {
    return directory.sessions();
  }

  /**
   * A reconnect delay drawn uniformly from {@code [0, window]} (capped at the wire's int): how drain,
   * load shedding and admission control keep clients they send away from returning in step.
   */
  static int spreadDelayMillis(long windowMillis) {
    return windowMillis <= 0 ? 0
        : (int) Math.min(Integer.MAX_VALUE, ThreadLocalRandom.current().nextLong(windowMillis + 1));
  }
}
