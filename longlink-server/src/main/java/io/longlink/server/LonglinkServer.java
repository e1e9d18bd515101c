package io.longlink.server;

import io.longlink.protocol.FieldRule;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.Ticker;
import io.longlink.server.internal.netty.ReceiveBufferSizer;
import io.longlink.server.internal.netty.SharedLocalAddresses;
import io.longlink.server.spi.ClusterStore;
import io.longlink.server.spi.NodeInfo;
import io.longlink.server.spi.NodeRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A longlink gateway node: accepts client connections, authenticates them, keeps one session per
 * client id, routes messages between clients and topics, and closes connections that go silent.
 *
 * <pre>{@code
 * LonglinkServer server = LonglinkServer.builder()
 *     .config(ServerConfig.builder().port(7000).build())
 *     .messageHandler(m -> true)
 *     .build()
 *     .start();
 * }</pre>
 *
 * <p>Thread-safe. {@link #start()} once; {@link #close()} stops it for good.
 */
public final class LonglinkServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LonglinkServer.class);

  /** Node lifecycle: NEW → RUNNING → STOPPED (or NEW → STOPPED). */
  public enum State {
    NEW,
    RUNNING,
    /** Not accepting; clients told to go elsewhere; waiting for them to leave. Not ready. */
    DRAINING,
    STOPPED
  }

  /**
   * What a drain found: connections when it began, connections still open when it ended, and
   * whether it ended because every client left (rather than at the timeout).
   */
  public record DrainResult(int connectionsAtStart, int connectionsLeft, boolean allLeft, Duration took) {}

  /** Shared by every connection: Netty otherwise creates one per channel. */
  private static final ReceiveBufferSizer RECEIVE_ALLOCATOR = new ReceiveBufferSizer();

  private final Gateway gateway;
  /** Accepted connections share one local-address object per local address (~80 B each less). */
  private final SharedLocalAddresses localAddresses = new SharedLocalAddresses();
  private State state = State.NEW;
  private EventLoopGroup group;
  private Channel serverChannel;
  private String transportName;
  private Map<EventExecutor, LivenessSweeper> sweepers;

  private final io.micrometer.core.instrument.MeterRegistry registry;
  private final GatewayMetrics.Bound metrics;
  private final NodeRegistry nodes;
  private final String nodeId;
  private final String advertisedAddress;
  private final String adminAddress;
  /** Announces this node in the cluster registry; its own thread: registry calls may block (event loops must not). */
  private java.util.concurrent.ScheduledExecutorService announcer;

  private LonglinkServer(Gateway gateway, io.micrometer.core.instrument.MeterRegistry registry, Builder b) {
    this.gateway = gateway;
    this.registry = registry;
    this.nodes = b.nodeRegistry;
    this.nodeId = b.nodeId;
    this.advertisedAddress = b.advertisedAddress;
    this.adminAddress = b.adminAddress;
    this.metrics = GatewayMetrics.bind(registry, gateway, this);
    io.micrometer.core.instrument.Timer rtt = metrics.heartbeatRtt();
    gateway.heartbeatRttNanos = nanos -> GatewayMetrics.recordRtt(rtt, nanos);
  }

  /** Where the node's metrics are (a Prometheus registry unless the builder was given another). */
  public io.micrometer.core.instrument.MeterRegistry meterRegistry() {
    return registry;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds and starts serving.
   *
   * @throws IllegalStateException if already started or stopped
   * @throws io.netty.channel.ChannelException or another exception if the address cannot be bound
   */
  public synchronized LonglinkServer start() {
    if (state != State.NEW) {
      throw new IllegalStateException("start(): server is " + state + " (expected: NEW)");
    }
    ServerConfig c = gateway.config;
    Transports transport = Transports.select(c.transport());
    transportName = transport.name();
    int threads = c.ioThreads() == 0 ? Runtime.getRuntime().availableProcessors() : c.ioThreads();
    group = new MultiThreadIoEventLoopGroup(threads,
        SchedulerSlice.threads(new DefaultThreadFactory("longlink-io"), c.ioThreadSlice()), transport.ioHandlerFactory());
    Map<EventExecutor, LivenessSweeper> sweepers = new IdentityHashMap<>();
    this.sweepers = sweepers;
    GatewayMetrics.bindLoops(registry, group);
    long sweepNanos = c.sweepInterval().toNanos();
    for (EventExecutor loop : group) {
      LivenessSweeper sweeper = new LivenessSweeper(loop, gateway);
      sweepers.put(loop, sweeper);
      loop.scheduleAtFixedRate(() -> sweeper.sweep(gateway.ticker.nanoTime()), sweepNanos, sweepNanos, TimeUnit.NANOSECONDS);
    }
    // Session retention runs on one loop: the store is shared and its expiry is cheap.
    group.next().scheduleAtFixedRate(() -> {
      long now = gateway.ticker.nanoTime();
      gateway.expireDetached(now);
      gateway.addresses.sweep(now);
    }, sweepNanos, sweepNanos, TimeUnit.NANOSECONDS);
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(group)
        .channel(transport.serverChannelClass());
    if (transport.socket()) {
      bootstrap.option(ChannelOption.SO_REUSEADDR, true) // a restarted node gets its port back at once
          .childOption(ChannelOption.RCVBUF_ALLOCATOR, RECEIVE_ALLOCATOR); // one for all, not one per channel
      transport.apply(c.tcp(), bootstrap);
    }
    bootstrap.childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            LivenessSweeper sweeper = sweepers.get(ch.eventLoop());
            if (sweeper == null) {
              throw new IllegalStateException("no liveness sweeper for event loop " + ch.eventLoop());
            }
            localAddresses.share(ch);
            ch.pipeline().addLast(new ServerConnection(sweeper)); // the whole pipeline: one handler
          }
        });
    try {
      SocketAddress bindTo = transport.socket() ? new InetSocketAddress(c.host(), c.port())
          : c.port() == 0 ? LocalAddress.ANY : new LocalAddress(c.host() + ":" + c.port());
      serverChannel = bootstrap.bind(bindTo).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      state = State.STOPPED;
      throw e;
    }
    state = State.RUNNING;
    log.info("longlink gateway listening on {} ({}, {} I/O threads{}, heartbeat {} ms x {}, handshake timeout {} ms)",
        format(boundAddress()), transportName, threads, sliceNote(c.ioThreadSlice()), c.heartbeatInterval().toMillis(),
        c.heartbeatMisses(), c.handshakeTimeout().toMillis());
    if (gateway.cluster != null) {
      gateway.cluster.start(self().id());
      group.next().scheduleAtFixedRate(gateway.cluster::restoreDirty, 1, 1, TimeUnit.SECONDS);
      long renew = gateway.cluster.leaseMillis() / 3;
      group.next().scheduleAtFixedRate(gateway.cluster::renewLeases, renew, renew, TimeUnit.MILLISECONDS);
    }
    if (nodes != null) {
      announce();
      long every = Math.max(1, nodes.timeToLive().toMillis() / 3);
      announcer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "longlink-cluster-announce");
        t.setDaemon(true);
        return t;
      });
      announcer.scheduleWithFixedDelay(this::announce, every, every, TimeUnit.MILLISECONDS);
    }
    return this;
  }

  /** This node as the cluster sees it now. */
  public NodeInfo self() {
    String address = !advertisedAddress.isEmpty() ? advertisedAddress
        : serverChannel != null && serverChannel.localAddress() instanceof InetSocketAddress a ? format(a) : "";
    String id = nodeId.isEmpty() ? address : nodeId;
    State s = state();
    return new NodeInfo(id, address, adminAddress, connectionCount(), s == State.STOPPED ? "STOPPED" : s.name(),
        System.currentTimeMillis());
  }

  /** The live nodes of the cluster; just this one without a registry. */
  public java.util.List<NodeInfo> nodes() {
    return nodes == null ? java.util.List.of(self()) : nodes.liveNodes();
  }

  private void announce() {
    try {
      State s = state();
      if (s == State.RUNNING || s == State.DRAINING) {
        nodes.announce(self());
      }
    } catch (RuntimeException e) {
      log.warn("cannot announce this node in the cluster registry: {}", e.toString());
    }
  }

  /**
   * Where to send clients this node moves away: the least-loaded other running node, or empty
   * (clients then come back here or use their own endpoint list).
   */
  String alternativeEndpoint() {
    if (nodes == null) {
      return "";
    }
    try {
      String me = self().id();
      return nodes.liveNodes().stream().filter(n -> n.running() && !n.id().equals(me) && !n.clientAddress().isEmpty())
          .min(java.util.Comparator.comparingInt(NodeInfo::connections)).map(NodeInfo::clientAddress).orElse("");
    } catch (RuntimeException e) {
      log.warn("cannot read the cluster registry for an alternative endpoint: {}", e.toString());
      return "";
    }
  }

  /**
   * The bound TCP address (useful with port 0).
   *
   * @throws IllegalStateException if not started, or started on the in-memory transport
   */
  public InetSocketAddress localAddress() {
    if (!(boundAddress() instanceof InetSocketAddress a)) {
      throw new IllegalStateException("localAddress(): the server is on the in-memory transport; use boundAddress()");
    }
    return a;
  }

  /** Where clients connect: an {@link InetSocketAddress}, or a Netty {@code LocalAddress} in memory. */
  public SocketAddress boundAddress() {
    Channel ch = serverChannel;
    if (ch == null) {
      throw new IllegalStateException("boundAddress(): server not started");
    }
    return ch.localAddress();
  }

  /** Every open connection, handshaking or not, gathered from the event loops. */
  java.util.List<ServerConnection> connections() {
    java.util.List<ServerConnection> all = new java.util.ArrayList<>();
    for (Map.Entry<EventExecutor, LivenessSweeper> e : sweepers.entrySet()) {
      all.addAll(java.util.List.of(e.getKey().submit(e.getValue()::snapshot).syncUninterruptibly().getNow()));
    }
    return all;
  }

  /**
   * The liveness sweeps so far, over every event loop: how many and how long in all, of both kinds.
   * Subtract an earlier value ({@link #since}) for the sweeps in between.
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

  /** The liveness sweeps so far ({@link SweepTotals}). */
  public SweepTotals livenessSweeps() {
    long sweeps = 0;
    long sweepNanos = 0;
    long windowSweeps = 0;
    long windowNanos = 0;
    long fewest = Long.MAX_VALUE;
    Map<EventExecutor, LivenessSweeper> s = sweepers;
    if (s != null) {
      for (LivenessSweeper sweeper : s.values()) {
        SweepTotals t = sweeper.livenessTotals();
        sweeps += t.sweeps();
        sweepNanos += t.sweepNanos();
        windowSweeps += t.windowSweeps();
        windowNanos += t.windowSweepNanos();
        fewest = Math.min(fewest, t.fewestWindowTurns());
      }
    }
    return new SweepTotals(sweeps, sweepNanos, windowSweeps, windowNanos, fewest == Long.MAX_VALUE ? 0 : fewest);
  }

  /** The settings this node runs with. */
  public ServerConfig config() {
    return gateway.config;
  }

  public synchronized State state() {
    return state;
  }

  /** {@code epoll} or {@code nio}, once started. */
  public String transportName() {
    return transportName;
  }

  /**
   * Sends a message from the backend to one client's session. In a cluster the client may be on
   * any node; the call returns once the cluster store holds the message (at most 5 s).
   *
   * @return 1 if the client has a session and the message was handed to it, else 0
   * @throws IllegalStateException in a cluster whose store is unavailable (the message was not sent)
   */
  public int publishToClient(String clientId, byte[] payload) {
    FieldRule.CLIENT_ID.require(clientId);
    return gateway.route("", TargetKind.CLIENT, clientId, Objects.requireNonNull(payload, "payload"));
  }

  /**
   * Sends a message from the backend to every session subscribed to {@code topic}, on every node
   * of the cluster.
   *
   * @return how many sessions of this node it was handed to (other nodes deliver to theirs)
   * @throws IllegalStateException in a cluster whose store is unavailable
   */
  public int publishToTopic(String topic, byte[] payload) {
    FieldRule.TOPIC.require(topic);
    return gateway.route("", TargetKind.TOPIC, topic, Objects.requireNonNull(payload, "payload"));
  }

  /** Open TCP connections, logged in or not. */
  public int connectionCount() {
    return gateway.connections.intValue();
  }

  /** Sessions, attached or detached. */
  public int sessionCount() {
    return gateway.store.size();
  }

  /** Sessions kept for resume while their client is away. */
  public int detachedSessionCount() {
    return gateway.store.detachedCount();
  }

  /** Successful resumes since start. */
  public long resumedCount() {
    return gateway.resumed.sum();
  }

  /** Resumes answered LOST since start. */
  public long resumesLostCount() {
    return gateway.resumesLost.sum();
  }

  /** Topics with at least one subscriber. */
  public int topicCount() {
    return gateway.topics.topicCount();
  }

  /** Clients refused for breaking {@code limit} since start. */
  public long limitHits(Limits.Limit limit) {
    return gateway.limitHits.get(limit).sum();
  }

  /** Remote addresses currently tracked by the per-address limits (0 when those are off). */
  public int trackedAddresses() {
    return gateway.addresses.trackedAddresses();
  }

  /**
   * Messages dropped from full replay buffers under {@link ServerConfig.SlowConsumerPolicy#DROP_OLDEST}
   * since start (each reported to its client by a GAP).
   */
  public long droppedMessagesCount() {
    return gateway.replayLimits.dropped().sum();
  }

  /**
   * Times a client was held back (its connection stopped reading) because the one client it sends
   * to had more than half its replay buffer unacknowledged, since start.
   */
  public long senderPausesCount() {
    return gateway.senderPauses.sum();
  }
  /**
   * Connection writes that waited for their event loop's write pass (the loop was writing to many
   * connections at once; see {@link ServerConfig#writeCoalescing}) since start.
   */
  public long coalescedWritesCount() {
    return gateway.coalescedWrites.sum();
  }


  /** Requests the handler answered (successfully or not), since start. */
  public long requestsHandledCount() {
    return gateway.requests.handled.sum() + gateway.requests.failed.sum();
  }

  /** Requests passed on to another client, since start. */
  public long requestsForwardedCount() {
    return gateway.requests.forwarded.sum();
  }

  /** Requests dropped unprocessed because their deadline had passed, since start. */
  public long requestsExpiredCount() {
    return gateway.requests.expired.sum();
  }

  /** Requests stopped by a CANCEL or by their connection closing, since start. */
  public long requestsCancelledCount() {
    return gateway.requests.cancelled.sum();
  }

  /** Requests being processed or awaiting another client's answer now, over all connections. */
  public int requestsInFlight() {
    return gateway.requests.inFlightCount();
  }

  /**
   * Sessions of this node for the admin API: those of {@code clientId} (empty: any), at most
   * {@code limit}.
   */
  public java.util.List<SessionInfo> sessions(String clientId, int limit) {
    java.util.List<SessionInfo> out = new java.util.ArrayList<>();
    if (!clientId.isEmpty()) {
      Session s = gateway.store.get(clientId);
      if (s != null && limit > 0) {
        out.add(s.info());
      }
      return out;
    }
    gateway.store.forEach(s -> {
      if (out.size() >= limit) {
        return false;
      }
      if (!s.clientId.startsWith("\u0001")) { // readiness probes are not clients
        out.add(s.info());
      }
      return true;
    });
    return out;
  }

  /** The session with this id, if this node has it. */
  public java.util.Optional<SessionInfo> session(String sessionId) {
    Session s = findSession(sessionId);
    return s == null ? java.util.Optional.empty() : java.util.Optional.of(s.info());
  }

  /**
   * Removes a session: its client gets GOAWAY KICKED with {@code reason} and must log in again
   * (the SDK does not reconnect on its own after KICKED). False if unknown.
   */
  public boolean kick(String sessionId, String reason) {
    Session s = findSession(sessionId);
    if (s == null) {
      return false;
    }
    ServerConnection c = s.connection();
    gateway.end(s, null, true);
    if (c != null) {
      c.goAwayFromAnyThread(io.longlink.protocol.ErrorCode.KICKED, reason);
    }
    log.info("session {} of client {} kicked: {}", sessionId, s.clientId, reason);
    return true;
  }

  private Session findSession(String sessionId) {
    SessionIds id = SessionIds.parse(sessionId);
    if (id == null) {
      return null;
    }
    Session[] found = new Session[1];
    gateway.store.forEach(s -> {
      if (s.hasId(id)) {
        found[0] = s;
        return false;
      }
      return true;
    });
    return found[0];
  }

  /**
   * Why this node cannot reach its cluster store right now, or empty when it can (or runs alone).
   * While it cannot, local clients are served from memory, messages to other nodes are rejected,
   * and {@code /readyz} says "degraded".
   */
  public String clusterUnavailable() {
    ClusterRouting c = gateway.cluster;
    return c == null || c.available() ? "" : c.unavailableWhy();
  }

  /** Messages addressed to a client id that had no session. */
  public long undeliverableCount() {
    return gateway.undeliverable.sum();
  }

  /**
   * True if a message routed through this node's session store reaches a local probe session: the
   * readiness check's data-path half (the other half: {@link #eventLoopsAnswer}).
   */
  public boolean dataPathWorks() {
    return state() == State.RUNNING && gateway.probeDataPath();
  }

  /** True if every event loop runs a no-op task within {@code timeout}: none is stuck. */
  public boolean eventLoopsAnswer(Duration timeout) {
    EventLoopGroup g = group;
    if (g == null) {
      return false;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      for (EventExecutor loop : g) {
        if (!loop.submit(() -> { }).await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          return false;
        }
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Graceful shutdown, step one: stop accepting, report not ready, send every client GOAWAY
   * SERVER_SHUTDOWN with a reconnect delay drawn uniformly from {@code [0, spread]} (so they do not
   * all come back at once), after writing what their sessions have buffered; then wait up to
   * {@code timeout} for the clients to acknowledge and leave. {@link #close()} then releases the
   * rest. Blocks the caller, not the event loops.
   *
   * @throws IllegalStateException if the server is not running
   */
  public DrainResult drain(Duration spread, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(spread, "spread");
    Objects.requireNonNull(timeout, "timeout");
    synchronized (this) {
      if (state != State.RUNNING) {
        throw new IllegalStateException("drain(): server is " + state + " (expected: RUNNING)");
      }
      state = State.DRAINING;
    }
    long start = System.nanoTime();
    serverChannel.close().syncUninterruptibly();
    java.util.List<ServerConnection> all = connections();
    log.info("draining {} connections: reconnect delays spread over {} ms, waiting up to {} ms", all.size(),
        spread.toMillis(), timeout.toMillis());
    if (nodes != null) {
      announce(); // DRAINING: nobody sends clients here any more
    }
    String elsewhere = alternativeEndpoint();
    for (ServerConnection c : all) {
      c.goAwayWithBacklogFromAnyThread("node draining", Gateway.spreadDelayMillis(spread.toMillis()), elsewhere);
    }
    long deadline = start + timeout.toNanos();
    while (connectionCount() > 0 && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(10);
    }
    int left = connectionCount();
    DrainResult r = new DrainResult(all.size(), left, left == 0, Duration.ofNanos(System.nanoTime() - start));
    log.info("drain ended after {} ms: {} of {} connections left{}", r.took().toMillis(), all.size() - left, all.size(),
        left == 0 ? "" : "; closing the rest");
    return r;
  }

  /**
   * Load shedding: moves {@code count} of the logged-in connections (picked at random) away, each
   * with GOAWAY SERVER_SHUTDOWN after what its session buffered and a reconnect delay drawn from
   * {@code [0, spread]}. The node keeps running and accepting.
   *
   * @return how many connections were asked to leave
   */
  public int shed(int count, Duration spread) {
    if (count < 0) {
      throw new IllegalArgumentException("count: " + count + " (expected: >= 0)");
    }
    if (state() != State.RUNNING) {
      throw new IllegalStateException("shed(): server is " + state() + " (expected: RUNNING)");
    }
    java.util.List<ServerConnection> open = new java.util.ArrayList<>(connections());
    java.util.Collections.shuffle(open);
    int n = 0;
    String elsewhere = count == 0 ? "" : alternativeEndpoint();
    for (ServerConnection c : open) {
      if (n == count) {
        break;
      }
      if (c.state() == ConnectionState.OPEN) {
        c.goAwayWithBacklogFromAnyThread("load shedding: reconnect elsewhere",
            Gateway.spreadDelayMillis(spread.toMillis()), elsewhere);
        n++;
      }
    }
    log.info("shedding {} of {} connections, reconnect delays spread over {} ms", n, open.size(), spread.toMillis());
    return n;
  }

  /** Stops accepting, closes every connection and releases the event loops. Idempotent. */
  @Override
  public synchronized void close() {
    if (state == State.STOPPED) {
      return;
    }
    State was = state;
    state = State.STOPPED;
    try {
      metrics.gcMetrics().close();
    } catch (Exception e) {
      log.debug("closing GC metrics: {}", e.toString());
    }
    if (nodes != null) {
      if (announcer != null) {
        announcer.shutdownNow();
      }
      if (was != State.NEW) {
        try {
          nodes.withdraw(self().id());
        } catch (RuntimeException e) {
          log.warn("cannot withdraw this node from the cluster registry (it drops out when its announcement runs "
              + "out): {}", e.toString());
        }
      }
      nodes.close();
    }
    if (was == State.NEW) {
      if (gateway.cluster != null) {
        gateway.cluster.close();
      }
      return;
    }
    serverChannel.close().syncUninterruptibly();
    // Close every connection ourselves, on its own loop, before the loops stop.
    for (Map.Entry<EventExecutor, LivenessSweeper> e : sweepers.entrySet()) {
      e.getKey().submit(e.getValue()::closeAll).syncUninterruptibly();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    gateway.requests.close();
    if (gateway.cluster != null) {
      gateway.cluster.close(); // after the connections: their sessions stay in the store, detached there
    }
    log.info("longlink gateway on {} stopped", format(serverChannel.localAddress()));
  }

  /** ", 100 us scheduler slices", or why the kernel's default slices stay. */
  private static String sliceNote(Duration slice) {
    if (slice.isZero()) {
      return "";
    }
    return SchedulerSlice.supported() ? ", " + slice.toNanos() / 1000 + " us scheduler slices"
        : ", default scheduler slices (per-thread slices need Linux 6.12+)";
  }

  private static String format(SocketAddress a) {
    return a instanceof InetSocketAddress i ? i.getHostString() + ":" + i.getPort() : String.valueOf(a);
  }

  /** Assembles a server from a config and the application's plug-ins. */
  public static final class Builder {
    private ServerConfig config = ServerConfig.builder().build();
    private Authenticator authenticator = Authenticator.acceptAll();
    private MessageHandler messageHandler = MessageHandler.routeAll();
    private RequestHandler requestHandler;
    private Ticker ticker = Ticker.system();
    private io.micrometer.core.instrument.MeterRegistry meterRegistry;
    private NodeRegistry nodeRegistry;
    private ClusterStore clusterStore;
    private String nodeId = "";
    private String advertisedAddress = "";
    private String adminAddress = "";

    private Builder() {}

    /** Default: {@code ServerConfig.builder().build()}. */
    public Builder config(ServerConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /** Default: {@link Authenticator#acceptAll()}. */
    public Builder authenticator(Authenticator authenticator) {
      this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
      return this;
    }

    /** Default: {@link MessageHandler#routeAll()}. */
    public Builder messageHandler(MessageHandler messageHandler) {
      this.messageHandler = Objects.requireNonNull(messageHandler, "messageHandler");
      return this;
    }

    /** Answers clients' requests; default none (requests are answered NO_HANDLER). */
    public Builder requestHandler(RequestHandler requestHandler) {
      this.requestHandler = Objects.requireNonNull(requestHandler, "requestHandler");
      return this;
    }

    /**
     * Where to publish metrics (e.g. the application's own registry); default a new
     * {@link io.micrometer.prometheusmetrics.PrometheusMeterRegistry}, which the admin API serves.
     */
    public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry meterRegistry) {
      this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
      return this;
    }

    /**
     * Joins a cluster: the node announces itself in {@code registry} as {@code nodeId}, reachable
     * by clients at {@code advertisedAddress} (HOST:PORT; empty: the bound address) and its admin
     * API at {@code adminAddress} (may be empty). The registry is closed with the node.
     */
    public Builder cluster(NodeRegistry registry, String nodeId, String advertisedAddress, String adminAddress) {
      this.nodeRegistry = Objects.requireNonNull(registry, "registry");
      this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
      this.advertisedAddress = Objects.requireNonNull(advertisedAddress, "advertisedAddress");
      this.adminAddress = Objects.requireNonNull(adminAddress, "adminAddress");
      return this;
    }

    /**
     * Shares sessions and routing with the other nodes of the cluster through {@code store} (e.g.
     * Redis): a client resumes on any node, and messages reach clients on other nodes. Needs
     * {@link #cluster} (the node id). The store is closed with the node.
     */
    public Builder clusterStore(ClusterStore store) {
      this.clusterStore = Objects.requireNonNull(store, "store");
      return this;
    }

    /** The clock for every timeout; default {@link Ticker#system()}. For tests. */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    public LonglinkServer build() {
      if (clusterStore != null && nodeRegistry == null) {
        throw new IllegalStateException("clusterStore: set, but no cluster(...) (expected: both, the store needs the node id)");
      }
      io.micrometer.core.instrument.MeterRegistry r = meterRegistry != null ? meterRegistry
          : new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
      return new LonglinkServer(new Gateway(config, authenticator, messageHandler, requestHandler, ticker, clusterStore), r, this);
    }
  }
}
