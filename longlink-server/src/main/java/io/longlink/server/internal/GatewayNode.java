package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.FieldRule;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.Ticker;
import io.longlink.server.Authenticator;
import io.longlink.server.Limits;
import io.longlink.server.LonglinkServer.DrainResult;
import io.longlink.server.LonglinkServer.State;
import io.longlink.server.MessageHandler;
import io.longlink.server.NodeStats;
import io.longlink.server.RequestHandler;
import io.longlink.server.SchedulerSlice;
import io.longlink.server.ServerConfig;
import io.longlink.server.ServerTls;
import io.longlink.server.SessionInfo;
import io.longlink.server.internal.netty.ReceiveBufferSizer;
import io.longlink.server.internal.netty.SharedLocalAddresses;
import io.longlink.server.spi.ClusterStore;
import io.longlink.server.spi.NodeInfo;
import io.longlink.server.spi.NodeRegistry;
import io.micrometer.core.instrument.MeterRegistry;
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
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running node behind {@link io.longlink.server.LonglinkServer}: its event loops, the listening
 * channel, the per-loop {@link LoopContext}s, the cluster registry, and the node-wide operations
 * (drain, shed, kick, publish, stats). Internal: the API is {@code LonglinkServer}, which documents
 * each operation; this class is public only so that the facade (another package) can hold it.
 *
 * <p>Thread-safe. {@link #start()} once; {@link #close()} stops it for good.
 */
public final class GatewayNode implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(io.longlink.server.LonglinkServer.class);
  /** Shared by every connection: Netty otherwise creates one per channel. */
  private static final ReceiveBufferSizer RECEIVE_ALLOCATOR = new ReceiveBufferSizer();

  private final Gateway gateway;
  /** Accepted connections share one local-address object per local address (~80 B each less). */
  private final SharedLocalAddresses localAddresses = new SharedLocalAddresses();
  private State state = State.NEW;
  private EventLoopGroup group;
  private Channel serverChannel;
  /** The WebSocket listener's channel, or {@code null} when there is none. */
  private Channel wsChannel;
  /** The listeners of {@link ServerConfig#altPorts}, beside {@link #serverChannel}. */
  private final List<Channel> altChannels = new java.util.concurrent.CopyOnWriteArrayList<>();
  private String transportName;
  private Map<EventExecutor, LoopContext> loops;
  /** A drain's deadline on the node's ticker, checked by the maintenance task; completed when it passes. */
  private volatile DrainDeadline drainDeadline;

  private record DrainDeadline(long atNanos, CompletableFuture<Void> passed) {}

  private final io.micrometer.core.instrument.MeterRegistry registry;
  private final GatewayMetrics.Bound metrics;
  private final NodeRegistry nodes;
  private final String nodeId;
  private final String advertisedAddress;
  private final String adminAddress;
  /** Announces this node in the cluster registry; its own thread: registry calls may block (event loops must not). */
  private java.util.concurrent.ScheduledExecutorService announcer;
  /** The client port's TLS; {@code null}: plaintext. */
  private final TlsContexts tls;
  /** Checks the TLS files for changes; its own thread (file system calls may block). */
  private java.util.concurrent.ScheduledExecutorService tlsWatcher;

  /**
   * @param clusterStore {@code null} for a single node
   * @param nodeRegistry {@code null} outside a cluster (then the last three are empty)
   */
  public GatewayNode(ServerConfig config, Authenticator authenticator, io.longlink.server.Authorizer authorizer,
      MessageHandler messageHandler,
      RequestHandler requestHandler, Ticker ticker, MeterRegistry registry, ClusterStore clusterStore,
      NodeRegistry nodeRegistry, String nodeId, String advertisedAddress, String adminAddress, ServerTls tlsSettings) {
    this.gateway = new Gateway(config, authenticator, authorizer, messageHandler, requestHandler, ticker, clusterStore);
    this.tls = tlsSettings == null ? null : new TlsContexts(tlsSettings);
    this.registry = registry;
    this.nodes = nodeRegistry;
    this.nodeId = nodeId;
    this.advertisedAddress = advertisedAddress;
    this.adminAddress = adminAddress;
    this.metrics = GatewayMetrics.bind(registry, gateway, this::livenessSweeps);
    io.micrometer.core.instrument.Timer rtt = metrics.heartbeatRtt();
    gateway.heartbeatRttNanos = nanos -> GatewayMetrics.recordRtt(rtt, nanos);
    io.micrometer.core.instrument.DistributionSummary intervals = metrics.clientIntervals();
    gateway.clientIntervalMillis = millis -> intervals.record(millis / 1000.0);
  }

  public MeterRegistry meterRegistry() {
    return registry;
  }

  public synchronized GatewayNode start() {
    if (state != State.NEW) {
      throw new IllegalStateException("start(): server is " + state + " (expected: NEW)");
    }
    ServerConfig c = gateway.config;
    Transports transport = Transports.select(c.transport());
    transportName = transport.name();
    int threads = c.ioThreads() == 0 ? Runtime.getRuntime().availableProcessors() : c.ioThreads();
    group = new MultiThreadIoEventLoopGroup(threads,
        SchedulerSlice.threads(new DefaultThreadFactory("longlink-io"), c.ioThreadSlice()), transport.ioHandlerFactory());
    Map<EventExecutor, LoopContext> loops = new IdentityHashMap<>();
    this.loops = loops;
    GatewayMetrics.bindLoops(registry, group);
    long sweepNanos = c.sweepInterval().toNanos();
    for (EventExecutor loop : group) {
      LoopContext context = new LoopContext(loop, gateway);
      loops.put(loop, context);
      loop.scheduleAtFixedRate(() -> context.sweeper.sweep(gateway.ticker.nanoTime()), sweepNanos, sweepNanos,
          TimeUnit.NANOSECONDS);
      // Tokens: often enough that a short-lived one is asked for before it runs out; nothing to do without them.
      loop.scheduleAtFixedRate(() -> context.auth.check(gateway.ticker.nanoTime()), LoopAuth.CHECK_EVERY_NANOS,
          LoopAuth.CHECK_EVERY_NANOS, TimeUnit.NANOSECONDS);
    }
    // The node's own upkeep runs on one loop: retention expiry (the store is shared and its expiry is
    // cheap), the per-address limits' table, and a drain's deadline.
    group.next().scheduleAtFixedRate(this::maintain, sweepNanos, sweepNanos, TimeUnit.NANOSECONDS);
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(group)
        .channel(transport.serverChannelClass());
    if (transport.socket()) {
      bootstrap.option(ChannelOption.SO_REUSEADDR, true) // a restarted node gets its port back at once
          .childOption(ChannelOption.RCVBUF_ALLOCATOR, RECEIVE_ALLOCATOR); // one for all, not one per channel
      transport.apply(c.tcp(), bootstrap);
    }
    bootstrap.childHandler(new Connections(loops, null));
    try {
      SocketAddress bindTo = transport.socket() ? new InetSocketAddress(c.host(), c.port())
          : c.port() == 0 ? LocalAddress.ANY : new LocalAddress(c.host() + ":" + c.port());
      serverChannel = bind(bootstrap, bindTo);
      for (int alt : c.altPorts()) {
        if (!transport.socket()) {
          throw new IllegalArgumentException("altPorts: need a socket transport (got " + transport.name() + ")");
        }
        altChannels.add(bind(bootstrap, new InetSocketAddress(c.host(), alt)));
      }
      if (c.webSocket().enabled()) {
        wsChannel = bindWebSocket(bootstrap, transport, loops);
      }
    } catch (RuntimeException e) {
      if (serverChannel != null) {
        serverChannel.close().syncUninterruptibly();
      }
      closeAltListeners();
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      state = State.STOPPED;
      throw e;
    }
    state = State.RUNNING;
    log.info("longlink gateway listening on {} ({}, {} I/O threads{}, heartbeat {} ms x {}, handshake timeout {} ms{})",
        format(boundAddress()), transportName, threads, sliceNote(c.ioThreadSlice()), c.heartbeatInterval().toMillis(),
        c.heartbeatMisses(), c.handshakeTimeout().toMillis(), tlsNote());
    for (Channel alt : altChannels) {
      log.info("longlink gateway also listening on {} (alternative port)", format(alt.localAddress()));
    }
    if (wsChannel != null) {
      log.info("longlink WebSocket listener on {}{} path {}", tls != null ? "wss://" : "ws://",
          format(wsChannel.localAddress()), c.webSocket().path());
    }
    if (tls != null && TlsContexts.fallbackReason() != null) {
      log.warn("TLS on the JDK's provider: BoringSSL (netty-tcnative) is unavailable: {}", TlsContexts.fallbackReason());
    }
    if (tls != null && !tls.settings().reloadCheckInterval().isZero()) {
      long every = tls.settings().reloadCheckInterval().toMillis();
      tlsWatcher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "longlink-tls-reload");
        t.setDaemon(true);
        return t;
      });
      tlsWatcher.scheduleWithFixedDelay(tls::reloadIfChanged, every, every, TimeUnit.MILLISECONDS);
    }
    gateway.directory.start(self().id(), group);
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

  private void closeAltListeners() {
    for (Channel alt : altChannels) {
      alt.close().syncUninterruptibly();
    }
  }

  /** The alternative ports' listening addresses (docs: --alt-port), in the configured order. */
  public List<InetSocketAddress> altAddresses() {
    List<InetSocketAddress> out = new java.util.ArrayList<>();
    for (Channel alt : altChannels) {
      out.add((InetSocketAddress) alt.localAddress());
    }
    return out;
  }

  /** Once per sweep interval, on one event loop. */
  private void maintain() {
    long now = gateway.ticker.nanoTime();
    gateway.directory.expireDetached(now);
    gateway.addresses.sweep(now);
    DrainDeadline d = drainDeadline;
    if (d != null && now - d.atNanos() >= 0) {
      d.passed().complete(null);
    }
  }

  /** The WebSocket listener: the same loops and connections, an HTTP upgrade in front of each. */
  /** Binds a listener; a failure names the address (and, if it is taken, what shares a port). */
  private Channel bind(ServerBootstrap b, SocketAddress address) {
    try {
      return b.bind(address).syncUninterruptibly().channel();
    } catch (Exception e) { // Netty rethrows the bind's checked exception undeclared
      String hint = String.valueOf(e.getMessage()).contains("Address already in use")
          ? " (another process has it; gateways that share a port need --reuse-port, every one of them)" : "";
      throw new IllegalStateException("cannot listen on " + format(address) + ": " + e.getMessage() + hint, e);
    }
  }

  private Channel bindWebSocket(ServerBootstrap tcp, Transports transport, Map<EventExecutor, LoopContext> loops) {
    ServerConfig c = gateway.config;
    if (!transport.socket()) {
      throw new IllegalArgumentException("webSocket: needs a socket transport (got " + transport.name() + ")");
    }
    InetSocketAddress bindTo = new InetSocketAddress(c.host(), c.webSocket().port());
    boolean loopback = bindTo.getAddress() != null && bindTo.getAddress().isLoopbackAddress();
    if (!loopback && c.webSocket().allowedOrigins().isEmpty()) {
      log.warn("WebSocket listener on {} without allowed origins: browsers are refused (403), native clients "
          + "(no Origin header) served; name the pages' origins with --ws-allowed-origins", c.host());
    }
    WsListener ws = new WsListener(c.webSocket(), loopback, c.maxFrameSize(), gateway.counters);
    return bind(tcp.clone().childHandler(new Connections(loops, ws)), bindTo);
  }

  /**
   * A new connection's pipeline, for one listener: [TLS], [the WebSocket upgrade], then its {@link
   * ServerConnection}, the same on every listener. Which listener is decided once, here, not per frame.
   */
  private final class Connections extends ChannelInitializer<Channel> {
    private final Map<EventExecutor, LoopContext> loops;
    private final WsListener ws;

    /** @param ws {@code null} on the TCP port */
    Connections(Map<EventExecutor, LoopContext> loops, WsListener ws) {
      this.loops = loops;
      this.ws = ws;
    }

    @Override
    protected void initChannel(Channel ch) {
      LoopContext context = loops.get(ch.eventLoop());
      if (context == null) {
        throw new IllegalStateException("no loop context for event loop " + ch.eventLoop());
      }
      localAddresses.share(ch);
      if (tls != null) {
        ch.pipeline().addLast(tls.newHandler(ch.alloc())); // decrypts below the connection, which is unchanged
      }
      ServerConnection connection = new ServerConnection(context);
      if (ws == null) {
        ch.pipeline().addLast(connection); // the whole pipeline: one handler (two with TLS)
      } else {
        ws.addHandlers(ch, connection);
      }
    }
  }

  /** The WebSocket listener's address, or {@code null} when there is none. */
  public InetSocketAddress webSocketAddress() {
    Channel ch = wsChannel;
    return ch == null ? null : (InetSocketAddress) ch.localAddress();
  }

  public NodeInfo self() {
    String address = !advertisedAddress.isEmpty() ? advertisedAddress
        : serverChannel != null && serverChannel.localAddress() instanceof InetSocketAddress a ? format(a) : "";
    String id = nodeId.isEmpty() ? address : nodeId;
    State s = state();
    return new NodeInfo(id, address, adminAddress, connectionCount(), s == State.STOPPED ? "STOPPED" : s.name(),
        System.currentTimeMillis());
  }

  public List<NodeInfo> nodes() {
    return nodes == null ? List.of(self()) : nodes.liveNodes();
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
  List<ServerConnection> connections() {
    List<ServerConnection> all = new ArrayList<>();
    for (Map.Entry<EventExecutor, LoopContext> e : loops.entrySet()) {
      all.addAll(e.getKey().submit(e.getValue().sweeper::snapshot).syncUninterruptibly().getNow());
    }
    return all;
  }

  /** The liveness sweeps so far over every event loop ({@link NodeStats.SweepTotals}). */
  private NodeStats.SweepTotals livenessSweeps() {
    long sweeps = 0;
    long sweepNanos = 0;
    long windowSweeps = 0;
    long windowNanos = 0;
    long fewest = Long.MAX_VALUE;
    Map<EventExecutor, LoopContext> l = loops;
    if (l == null) {
      return NodeStats.SweepTotals.NONE;
    }
    for (LoopContext context : l.values()) {
      NodeStats.SweepTotals t = context.sweeper.livenessTotals();
      sweeps += t.sweeps();
      sweepNanos += t.sweepNanos();
      windowSweeps += t.windowSweeps();
      windowNanos += t.windowSweepNanos();
      fewest = Math.min(fewest, t.fewestWindowTurns());
    }
    return new NodeStats.SweepTotals(sweeps, sweepNanos, windowSweeps, windowNanos, fewest == Long.MAX_VALUE ? 0 : fewest);
  }

  public ServerConfig config() {
    return gateway.config;
  }

  public synchronized State state() {
    return state;
  }

  public String transportName() {
    return transportName;
  }

  public int publishToClient(String clientId, byte[] payload) {
    FieldRule.CLIENT_ID.require(clientId);
    return gateway.directory.publish("", TargetKind.CLIENT, clientId, Objects.requireNonNull(payload, "payload"));
  }

  public int publishToTopic(String topic, byte[] payload) {
    FieldRule.TOPIC.require(topic);
    return gateway.directory.publish("", TargetKind.TOPIC, topic, Objects.requireNonNull(payload, "payload"));
  }

  private int connectionCount() {
    return gateway.counters.connections.intValue();
  }

  public NodeStats stats() {
    NodeCounters n = gateway.counters;
    LocalSessions s = gateway.sessions();
    RequestDispatcher r = gateway.requests;
    Map<Limits.Limit, Long> hits = new java.util.EnumMap<>(Limits.Limit.class);
    n.limitHits.forEach((limit, count) -> hits.put(limit, count.sum()));
    return new NodeStats(connectionCount(), s.store.size(), s.store.detachedCount(), s.topics.topicCount(),
        n.resumed.sum(), n.resumesLost.sum(), hits, gateway.addresses.trackedAddresses(),
        s.replayLimits.dropped().sum(), n.senderPauses.sum(), n.coalescedWrites.sum(), n.undeliverable.sum(),
        r.handled.sum() + r.failed.sum(), r.forwarded.sum(), r.expired.sum(), r.cancelled.sum(), r.inFlightCount(),
        livenessSweeps(), gateway.directory.unavailableWhy(), online());
  }

  private NodeStats.Online online() {
    SessionDirectory.PresenceCounts p = gateway.directory.presenceCounts();
    return new NodeStats.Online(p.nodeSessions(), p.nodeUsers(), p.clusterSessions(), p.clusterUsers());
  }

  public int publishToUser(String principal, byte[] payload) {
    FieldRule.CLIENT_ID.require(principal);
    return gateway.directory.publish("", TargetKind.USER, principal, Objects.requireNonNull(payload, "payload"));
  }

  /** The online devices of {@code principal}, cluster-wide; blocks at most 5 s in a cluster. */
  public List<io.longlink.server.DevicePresence> presence(String principal) {
    FieldRule.CLIENT_ID.require(principal);
    try {
      return gateway.directory.presence(principal).toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("presence of " + principal + ": " + e.getCause().getMessage(), e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("presence of " + principal + ": the cluster store did not answer within 5 s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  public List<SessionInfo> sessions(String clientId, int limit) {
    List<SessionInfo> out = new ArrayList<>();
    LocalSessions sessions = gateway.sessions();
    if (!clientId.isEmpty()) {
      Session s = sessions.get(clientId);
      if (s != null && limit > 0) {
        out.add(s.info());
      }
      for (Devices.Device d : sessions.devices.of(clientId)) { // its devices, when it is its own principal
        if (out.size() < limit && d.session.clientId().equals(clientId)) {
          out.add(d.session.info());
        }
      }
      return out;
    }
    sessions.forEachClient(s -> {
      if (out.size() >= limit) {
        return false;
      }
      out.add(s.info());
      return true;
    });
    return out;
  }

  public java.util.Optional<SessionInfo> session(String sessionId) {
    Session s = findSession(sessionId);
    return s == null ? java.util.Optional.empty() : java.util.Optional.of(s.info());
  }

  public boolean kick(String sessionId, String reason) {
    Session s = findSession(sessionId);
    if (s == null) {
      return false;
    }
    Connection c = s.connection();
    gateway.directory.end(s, null, true);
    if (c != null) {
      c.goAway(ErrorCode.KICKED, reason);
    }
    log.info("session {} of client {} kicked: {}", sessionId, s.clientId(), reason);
    return true;
  }

  private Session findSession(String sessionId) {
    SessionIds id = SessionIds.parse(sessionId);
    if (id == null) {
      return null;
    }
    Session[] found = new Session[1];
    gateway.sessions().forEachClient(s -> {
      if (s.hasId(id)) {
        found[0] = s;
        return false;
      }
      return true;
    });
    return found[0];
  }

  public String clusterUnavailable() {
    return gateway.directory.unavailableWhy();
  }

  public boolean dataPathWorks() {
    return state() == State.RUNNING && gateway.sessions().probe();
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

  public DrainResult drain(Duration spread, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(spread, "spread");
    Objects.requireNonNull(timeout, "timeout");
    synchronized (this) {
      if (state != State.RUNNING) {
        throw new IllegalStateException("drain(): server is " + state + " (expected: RUNNING)");
      }
      state = State.DRAINING;
    }
    Ticker ticker = gateway.ticker;
    long start = ticker.nanoTime();
    serverChannel.close().syncUninterruptibly();
    closeAltListeners();
    if (wsChannel != null) {
      wsChannel.close().syncUninterruptibly();
    }
    List<ServerConnection> all = connections();
    log.info("draining {} connections: reconnect delays spread over {} ms, waiting up to {} ms", all.size(),
        spread.toMillis(), timeout.toMillis());
    if (nodes != null) {
      announce(); // DRAINING: nobody sends clients here any more
    }
    String elsewhere = alternativeEndpoint();
    for (ServerConnection c : all) {
      c.goAwayWithBacklog("node draining", Gateway.spreadDelayMillis(spread.toMillis()), elsewhere);
    }
    // Ends on a signal: the last connection leaving, or the maintenance task finding the deadline passed.
    DrainDeadline deadline = new DrainDeadline(start + timeout.toNanos(), new CompletableFuture<>());
    drainDeadline = deadline;
    try {
      CompletableFuture.anyOf(gateway.whenEmpty(), deadline.passed()).get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("drain: " + e.getCause(), e.getCause()); // cannot happen: neither fails
    } finally {
      drainDeadline = null;
    }
    int left = connectionCount();
    DrainResult r = new DrainResult(all.size(), left, left == 0, Duration.ofNanos(ticker.nanoTime() - start));
    log.info("drain ended after {} ms: {} of {} connections left{}", r.took().toMillis(), all.size() - left, all.size(),
        left == 0 ? "" : "; closing the rest");
    return r;
  }

  public int shed(int count, Duration spread) {
    if (count < 0) {
      throw new IllegalArgumentException("count: " + count + " (expected: >= 0)");
    }
    if (state() != State.RUNNING) {
      throw new IllegalStateException("shed(): server is " + state() + " (expected: RUNNING)");
    }
    List<ServerConnection> open = new ArrayList<>(connections());
    java.util.Collections.shuffle(open);
    int n = 0;
    String elsewhere = count == 0 ? "" : alternativeEndpoint();
    for (ServerConnection c : open) {
      if (n == count) {
        break;
      }
      if (c.isOpen()) {
        c.goAwayWithBacklog("load shedding: reconnect elsewhere",
            Gateway.spreadDelayMillis(spread.toMillis()), elsewhere);
        n++;
      }
    }
    log.info("shedding {} of {} connections, reconnect delays spread over {} ms", n, open.size(), spread.toMillis());
    return n;
  }

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
    if (tlsWatcher != null) {
      tlsWatcher.shutdownNow();
    }
    if (was == State.NEW) {
      gateway.directory.close();
      if (tls != null) {
        tls.close();
      }
      return;
    }
    serverChannel.close().syncUninterruptibly();
    closeAltListeners();
    if (wsChannel != null) {
      wsChannel.close().syncUninterruptibly();
    }
    // Close every connection ourselves, on its own loop, before the loops stop.
    for (Map.Entry<EventExecutor, LoopContext> e : loops.entrySet()) {
      e.getKey().submit(e.getValue().sweeper::closeAll).syncUninterruptibly();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    gateway.requests.close();
    gateway.directory.close(); // after the connections: in a cluster their sessions stay in the store, detached there
    if (tls != null) {
      tls.close(); // after the connections: the engines held it
    }
    log.info("longlink gateway on {} stopped", format(serverChannel.localAddress()));
  }

  private String tlsNote() {
    if (tls == null) {
      return "";
    }
    return ", TLS (" + tls.providerName() + (tls.settings().mutual() ? ", client certificates required" : "") + ")";
  }

  /**
   * Reads the TLS files again now: new connections get the new certificate, open ones keep theirs.
   *
   * @throws IllegalStateException no TLS on this node
   */
  public TlsContexts.Reload reloadTls() {
    if (tls == null) {
      throw new IllegalStateException("reloadTls(): this node serves no TLS");
    }
    return tls.reload();
  }

  /** Whether the client port speaks TLS. */
  public boolean tls() {
    return tls != null;
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
}
