package io.longlink.server;

import io.longlink.protocol.Ticker;
import io.longlink.server.internal.GatewayNode;
import io.longlink.server.spi.ClusterStore;
import io.longlink.server.spi.NodeInfo;
import io.longlink.server.spi.NodeRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

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

  private final GatewayNode node;

  private LonglinkServer(GatewayNode node) {
    this.node = node;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Where the node's metrics are (a Prometheus registry unless the builder was given another). */
  public MeterRegistry meterRegistry() {
    return node.meterRegistry();
  }

  /**
   * Binds and starts serving.
   *
   * @throws IllegalStateException if already started or stopped
   * @throws io.netty.channel.ChannelException or another exception if the address cannot be bound
   */
  public LonglinkServer start() {
    node.start();
    return this;
  }

  /** This node as the cluster sees it now. */
  public NodeInfo self() {
    return node.self();
  }

  /** The live nodes of the cluster; just this one without a registry. */
  public List<NodeInfo> nodes() {
    return node.nodes();
  }

  /**
   * The bound TCP address (useful with port 0).
   *
   * @throws IllegalStateException if not started, or started on the in-memory transport
   */
  public InetSocketAddress localAddress() {
    return node.localAddress();
  }

  /** The WebSocket listener's address (useful with port 0), or {@code null} without one ({@link ServerConfig#webSocket()}). */
  /** Where the alternative ports listen ({@link ServerConfig#altPorts}), in their order; empty without. */
  public java.util.List<InetSocketAddress> altAddresses() {
    return node.altAddresses();
  }

  public InetSocketAddress webSocketAddress() {
    return node.webSocketAddress();
  }

  /** Where clients connect: an {@link InetSocketAddress}, or a Netty {@code LocalAddress} in memory. */
  public SocketAddress boundAddress() {
    return node.boundAddress();
  }

  /** The settings this node runs with. */
  public ServerConfig config() {
    return node.config();
  }

  public State state() {
    return node.state();
  }

  /** {@code epoll}, {@code io_uring}, {@code nio} or {@code local}, once started. */
  public String transportName() {
    return node.transportName();
  }

  /**
   * What the node holds and has counted so far: connections, sessions, resumes, limit hits,
   * requests, liveness sweeps, the cluster store's reachability ({@link NodeStats}).
   */
  public NodeStats stats() {
    return node.stats();
  }

  /**
   * Sends a message from the backend to one client's session. In a cluster the client may be on
   * any node; the call returns once the cluster store holds the message (at most 5 s).
   *
   * @return 1 if the client has a session and the message was handed to it, else 0
   * @throws IllegalStateException in a cluster whose store is unavailable (the message was not sent)
   */
  public int publishToClient(String clientId, byte[] payload) {
    return node.publishToClient(clientId, payload);
  }

  /**
   * Sends a message from the backend to every session subscribed to {@code topic}, on every node
   * of the cluster.
   *
   * @return how many sessions of this node it was handed to (other nodes deliver to theirs)
   * @throws IllegalStateException in a cluster whose store is unavailable
   */
  public int publishToTopic(String topic, byte[] payload) {
    return node.publishToTopic(topic, payload);
  }

  /**
   * Sends a message from the backend to every device of a user: each session of {@code principal}
   * that logged in with a device id (protocol version 3), on every node, in its own sequence. Returns
   * once every device's session holds it (in a cluster: the store, at most 5 s).
   *
   * @return how many device sessions took it (0: the user has none, counted as undeliverable)
   * @throws IllegalStateException in a cluster whose store is unavailable (the message was not sent)
   */
  public int publishToUser(String principal, byte[] payload) {
    return node.publishToUser(principal, payload);
  }

  /**
   * The online devices of {@code principal}: sessions with a device id whose connection is up or
   * dropped less than the presence grace ago, on every node (blocks at most 5 s in a cluster).
   *
   * @throws IllegalStateException in a cluster whose store is unavailable
   */
  public List<DevicePresence> presence(String principal) {
    return node.presence(principal);
  }

  /**
   * Sessions of this node for the admin API: those of {@code clientId} (empty: any), at most
   * {@code limit}.
   */
  public List<SessionInfo> sessions(String clientId, int limit) {
    return node.sessions(clientId, limit);
  }

  /** The session with this id, if this node has it. */
  public Optional<SessionInfo> session(String sessionId) {
    return node.session(sessionId);
  }

  /**
   * Removes a session: its client gets GOAWAY KICKED with {@code reason} and must log in again
   * (the SDK does not reconnect on its own after KICKED). False if unknown.
   */
  public boolean kick(String sessionId, String reason) {
    return node.kick(sessionId, reason);
  }

  /**
   * Why this node cannot reach its cluster store right now, or empty when it can (or runs alone).
   * While it cannot, local clients are served from memory, messages to other nodes are rejected,
   * and {@code /readyz} says "degraded". Also in {@link #stats()}.
   */
  public String clusterUnavailable() {
    return node.clusterUnavailable();
  }

  /**
   * True if a message routed through this node's session store reaches a local probe session: the
   * readiness check's data-path half (the other half: {@link #eventLoopsAnswer}).
   */
  public boolean dataPathWorks() {
    return node.dataPathWorks();
  }

  /** True if every event loop runs a no-op task within {@code timeout}: none is stuck. */
  public boolean eventLoopsAnswer(Duration timeout) {
    return node.eventLoopsAnswer(timeout);
  }

  /**
   * Graceful shutdown, step one: stop accepting, report not ready, send every client GOAWAY
   * SERVER_SHUTDOWN with a reconnect delay drawn uniformly from {@code [0, spread]} (so they do not
   * all come back at once), after writing what their sessions have buffered; then wait up to
   * {@code timeout} (on the node's {@link Ticker}) for the clients to acknowledge and leave: it
   * returns as the last one leaves. {@link #close()} then releases the rest. Blocks the caller, not
   * the event loops.
   *
   * @throws IllegalStateException if the server is not running
   */
  public DrainResult drain(Duration spread, Duration timeout) throws InterruptedException {
    return node.drain(spread, timeout);
  }

  /**
   * Load shedding: moves {@code count} of the logged-in connections (picked at random) away, each
   * with GOAWAY SERVER_SHUTDOWN after what its session buffered and a reconnect delay drawn from
   * {@code [0, spread]}. The node keeps running and accepting.
   *
   * @return how many connections were asked to leave
   */
  public int shed(int count, Duration spread) {
    return node.shed(count, spread);
  }

  /** Stops accepting, closes every connection and releases the event loops. Idempotent. */
  /**
   * Reads the TLS certificate and key files again now (they are also re-read when they change): new
   * connections get the new certificate, open ones keep theirs. A failed reload keeps the previous
   * certificate.
   *
   * @return {@code null} when reloaded, else why not
   * @throws IllegalStateException the node serves no TLS
   */
  public String reloadTls() {
    return node.reloadTls().error();
  }

  /** Whether the client port speaks TLS. */
  public boolean tls() {
    return node.tls();
  }

  @Override
  public void close() {
    node.close();
  }

  /** Assembles a server from a config and the application's plug-ins. */
  public static final class Builder {
    private ServerConfig config = ServerConfig.builder().build();
    private Authenticator authenticator = Authenticator.acceptAll();
    private Authorizer authorizer = Authorizer.byCredential();
    private MessageHandler messageHandler = MessageHandler.routeAll();
    private RequestHandler requestHandler;
    private Ticker ticker = Ticker.system();
    private MeterRegistry meterRegistry;
    private NodeRegistry nodeRegistry;
    private ClusterStore clusterStore;
    private String nodeId = "";
    private String advertisedAddress = "";
    private String adminAddress = "";
    private ServerTls tls;

    private Builder() {}

    /** Serves the client port over TLS only; default plaintext. See {@link ServerTls}. */
    public Builder tls(ServerTls tls) {
      this.tls = Objects.requireNonNull(tls, "tls");
      return this;
    }

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

    /** Default: {@link Authorizer#byCredential()} (what the token grants; everything without claims). */
    public Builder authorizer(Authorizer authorizer) {
      this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
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
    public Builder meterRegistry(MeterRegistry meterRegistry) {
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
      MeterRegistry r = meterRegistry != null ? meterRegistry
          : new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
      return new LonglinkServer(new GatewayNode(config, authenticator, authorizer, messageHandler, requestHandler, ticker, r,
          clusterStore, nodeRegistry, nodeId, advertisedAddress, adminAddress, tls));
    }
  }
}
