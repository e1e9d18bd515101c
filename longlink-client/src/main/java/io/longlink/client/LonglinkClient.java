package io.longlink.client;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.FieldRule;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameDecoder;
import io.longlink.protocol.FrameEncoder;
import io.longlink.protocol.ProtocolException;
import io.longlink.protocol.SessionStatus;
import io.longlink.protocol.Ticker;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connection to a longlink gateway that survives the network: it logs in, sends to clients and
 * topics, receives through a {@link ClientListener}, keeps the connection alive with heartbeats at
 * the interval the server asks for, and when the connection breaks it reconnects (exponential
 * backoff with jitter, failing over across endpoints) and resumes its session, replaying what the
 * other side has not acknowledged. The application sees every message exactly once and in order; a
 * session the server no longer has ends in {@link ClientListener#onSessionLost}.
 *
 * <pre>{@code
 * try (LonglinkClient client = LonglinkClient.builder()
 *     .endpoint("127.0.0.1", 7000).clientId("alice")
 *     .listener(new ClientListener() { ... })
 *     .build()) {
 *   client.connect().join();
 *   client.send(Destination.client("bob"), "hello".getBytes(UTF_8)).join(); // acked by the gateway
 * }
 * }</pre>
 *
 * <p>Thread-safe: every method may be called from any thread. All state lives on one I/O thread,
 * where listener callbacks run too.
 */
public final class LonglinkClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LonglinkClient.class);

  /** What {@link #send} does when the outbox (unacknowledged + queued) is full. */
  public enum OverflowPolicy {
    /** Fail the send's future at once with {@link OutboxFullException}. */
    FAIL,
    /** Block the calling thread up to the block timeout (never on the client's I/O thread). */
    BLOCK
  }

  /** The outbox is full: the gateway has not acknowledged enough of what was sent. */
  public static final class OutboxFullException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    OutboxFullException(String message) {
      super(message);
    }
  }

  /** What the application built the client with. */
  private final ClientConfig config;
  /** When and how soon to come back after a lost connection. */
  private final ReconnectPolicy reconnectPolicy;
  private final Backoff configuredBackoff;
  private final Semaphore permits;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  /** The one thread that owns every non-final field below. */
  private final EventLoop loop;
  private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();

  private volatile ClientState state = ClientState.DISCONNECTED;
  private volatile String sessionId;
  private volatile long lastRttNanos = -1;
  /** The gateway's interval from the last WELCOME, for {@link #heartbeatInterval} without adaptation. */
  private volatile long fixedHeartbeatMs;
  private volatile Route routeNow = Route.DIRECT;
  private volatile int attempt;
  private volatile long nextRetryAtNanos;
  private Channel channel;
  private CompletableFuture<Void> connectFuture;
  /** The current connection's timer: handshake deadline, then heartbeat checks. */
  private ScheduledFuture<?> timer;
  /** The next connection attempt while RECONNECTING. Separate: a dying connection must not cancel it. */
  private ScheduledFuture<?> retryTimer;
  private Heartbeat heartbeat;
  /** {@code null} without {@link Builder#adaptiveHeartbeat}. */
  private final HeartbeatTuner tuner;
  private Backoff backoff;
  private long lastReceivedSeq;
  private volatile long messagesDroppedByServer;
  private volatile long rejected;
  /** Fresh tokens sent on request (REAUTH), written by the event loop only. */
  private volatile long tokenRefreshes;
  /** Times the client went RECONNECTING (written by its event loop only). */
  private volatile long reconnects;
  private final Requests requests = new Requests();
  /** Made once from {@link ClientConfig#tls()}; {@code null}: plaintext. */
  private final io.netty.handler.ssl.SslContext tlsContext;
  private final RequestServer answering;
  /** {@link #ping()}s awaiting their PONG, by timestamp. */
  private final java.util.Map<Long, CompletableFuture<Duration>> pings = new java.util.HashMap<>();
  private final Outbox outbox;
  /** For {@code wss://} tiers of a client built without {@link Builder#tls}: the JDK's trusted authorities, made once. */
  private SystemTls systemTls;

  private record SystemTls(ClientTls settings, io.netty.handler.ssl.SslContext context) {}
  /** Highest client-to-server seq written on the current connection. */
  private long writtenSeq;
  private final Set<String> topics = new LinkedHashSet<>();
  private int endpointIndex;
  /** The tiers of endpoints ({@link Fallback}) and which one is in use. */
  private final Routes routes;
  /** The connect race of the attempt under way; {@code null} otherwise. */
  private Dialer dialer;
  /** The endpoint of the current connection. */
  private InetSocketAddress connectedEndpoint;
  /** While on a lower tier: the next probe of the direct endpoints, or the probe under way. */
  private ScheduledFuture<?> probeTimer;
  private Dialer probe;
  /**
   * The current connection is being closed on purpose (to move to the direct tier, or to log in again
   * with protocol version 1): reconnect at once, no backoff, whatever the cause.
   */
  private boolean switching;
  /** The gateway refused protocol version 2: HELLOs say 1 from now on, and the heartbeat stays fixed. */
  private volatile boolean versionOneOnly;
  private int triedInRound;
  private boolean everConnected;
  private long connectedAtNanos;
  private long attemptStartedNanos;
  private InetSocketAddress redirect;
  private long goAwayDelayNanos;
  /** A session the server refused to resume: the next login reports it lost. */
  private String refusedSessionId;
  private int unackedInbound;
  private ScheduledFuture<?> ackTimer;
  /** Stamp of the last connection attempt (docs/PROTOCOL.md: HELLO attemptStamp). */
  private long attemptStamp;

  private LonglinkClient(ClientConfig config) {
    this.config = config;
    this.reconnectPolicy = new ReconnectPolicy(config.reconnect(), config.retryInitialConnect(), config.maxAttempts(),
        config.stableAfter().toNanos(), config.random());
    this.configuredBackoff = config.backoffInitial() == null ? null
        : new Backoff(config.backoffInitial().toNanos(), config.backoffMax().toNanos());
    this.backoff = configuredBackoff != null ? configuredBackoff
        : new Backoff(TimeUnit.SECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(60));
    this.permits = config.overflowPolicy() == OverflowPolicy.BLOCK ? new Semaphore(config.maxPendingMessages()) : null;
    this.outbox = new Outbox(config.maxPendingMessages(), config.maxPendingBytes());
    this.ownsGroup = config.group() == null;
    this.group = ownsGroup ? new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory()) : config.group();
    this.loop = group.next();
    this.tlsContext = config.tls() == null ? null : config.tls().context();
    this.answering = new RequestServer(config.requestHandler(), config.requestExecutor(), System::currentTimeMillis);
    this.routes = new Routes(config.endpoints(), config.fallback());
    this.tuner = config.adaptiveHeartbeat() == null ? null
        : new HeartbeatTuner(config.adaptiveHeartbeat(), config.listener(), config.clientId());
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Connects and logs in, trying each endpoint once in order (and, with
   * {@link Builder#retryInitialConnect}, backing off and retrying like a reconnect).
   *
   * @return completes when the session is established; fails with a {@link LonglinkException}
   *     carrying the server's code if it refused, or with the last I/O error or timeout otherwise
   */
  public CompletableFuture<Void> connect() {
    CompletableFuture<Void> result = new CompletableFuture<>();
    loop.execute(() -> {
      if (state != ClientState.DISCONNECTED) {
        result.completeExceptionally(new IllegalStateException(
            "connect(): client " + config.clientId() + " is " + state + " (expected: DISCONNECTED)"));
        return;
      }
      connectFuture = result;
      attempt = 0;
      triedInRound = 0;
      startAttempt();
    });
    return result;
  }

  /**
   * Sends a message. While the client is reconnecting the message is queued and goes out after
   * the session is resumed.
   *
   * @return completes when the gateway acknowledged it (took responsibility for routing it); fails
   *     with {@link OutboxFullException} when too much is unacknowledged, with
   *     {@link SessionLostException} if the session was lost before the acknowledgement, or with
   *     an {@link IllegalStateException} if the client is closed or gave up
   */
  public CompletableFuture<Void> send(Destination to, byte[] payload) {
    Objects.requireNonNull(to, "to");
    Objects.requireNonNull(payload, "payload");
    if (payload.length > config.maxFrameSize()) {
      throw new IllegalArgumentException("payload: " + payload.length + " bytes (expected: <= " + config.maxFrameSize() + ")");
    }
    return sequenced(new Frame.Data(0, to.kind(), to.name(), "", payload), null);
  }

  /**
   * Sends a request to the gateway's request handler and returns its answer (docs/PROTOCOL.md
   * section 9). The request carries its deadline, now + {@code timeout}: the gateway drops it
   * unprocessed once that has passed. Made while the client is reconnecting, it waits for the
   * connection, within the same deadline.
   *
   * @return completes with the response payload; fails with {@link RequestTimeoutException} at the
   *     deadline, with a {@link LonglinkException} carrying the gateway's code (REQUEST_FAILED,
   *     NO_HANDLER, LIMIT_EXCEEDED), with {@link ConnectionLostException} if the connection broke
   *     after it was sent, or with an {@link IllegalStateException} if the client is closed or gave
   *     up. Cancelling the future tells the gateway to drop the request
   */
  public CompletableFuture<byte[]> request(byte[] payload, Duration timeout) {
    return request("", payload, timeout);
  }

  /**
   * Sends a request to another client, through the gateway, and returns its answer: like
   * {@link #request(byte[], Duration)}, answered by that client's {@link ClientRequestHandler}. Fails
   * with UNREACHABLE if that client is not connected to the same gateway (or leaves before
   * answering), NO_HANDLER if it answers no requests.
   *
   * @param clientId the client to ask; empty for the gateway's own request handler
   */
  public CompletableFuture<byte[]> request(String clientId, byte[] payload, Duration timeout) {
    Objects.requireNonNull(clientId, "clientId");
    if (!clientId.isEmpty()) {
      FieldRule.CLIENT_ID.require(clientId);
    }
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
    }
    if (payload.length > config.maxFrameSize()) {
      throw new IllegalArgumentException("payload: " + payload.length + " bytes (expected: <= " + config.maxFrameSize() + ")");
    }
    long timeoutNanos = timeout.toNanos();
    long dueNanos = config.ticker().nanoTime() + timeoutNanos;
    long deadlineMillis = System.currentTimeMillis() + timeout.toMillis();
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    try {
      loop.execute(() -> startRequest(clientId, payload, deadlineMillis, dueNanos, timeout, result));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      result.completeExceptionally(new IllegalStateException("client " + clientId + " closed"));
    }
    return result;
  }

  private void startRequest(String target, byte[] payload, long deadlineMillis, long dueNanos, Duration timeout,
      CompletableFuture<byte[]> result) {
    if (state == ClientState.CLOSED || state == ClientState.DISCONNECTED) {
      result.completeExceptionally(new IllegalStateException("client " + config.clientId() + " is " + state
          + " (expected: connected or reconnecting)"));
      return;
    }
    if (result.isDone()) {
      return; // cancelled before it got here
    }
    Requests.Pending p = requests.add(deadlineMillis, target, payload, result);
    p.timer = loop.schedule(() -> {
      if (dropRequest(p.id) != null) {
        p.future.completeExceptionally(new RequestTimeoutException("request " + p.id + " of client " + config.clientId()
            + ": no answer within " + timeout.toMillis() + " ms"));
      }
    }, Math.max(0, dueNanos - config.ticker().nanoTime()), TimeUnit.NANOSECONDS);
    result.whenComplete((v, e) -> {
      if (result.isCancelled()) {
        try {
          loop.execute(() -> dropRequest(p.id));
        } catch (java.util.concurrent.RejectedExecutionException closed) {
          // the client is gone, and the request with it
        }
      }
    });
    if (state == ClientState.CONNECTED) {
      writeRequest(p);
    }
  }

  private void writeRequest(Requests.Pending p) {
    p.written = true; // first: a failing write can lose the connection before it returns
    write(p.frame);
  }

  /** Forgets a request that timed out or was cancelled; the gateway is told to drop it. */
  private Requests.Pending dropRequest(long id) {
    Requests.Pending p = requests.remove(id);
    if (p != null && p.written && state == ClientState.CONNECTED) {
      write(new Frame.Cancel(id));
    }
    return p;
  }

  /**
   * Sends a PING now and completes with the round-trip time when its PONG arrives: a liveness check
   * on demand (the connection pool validates idle connections with it). Fails if the client is not
   * connected or the connection breaks first.
   */
  public CompletableFuture<Duration> ping() {
    CompletableFuture<Duration> result = new CompletableFuture<>();
    try {
      loop.execute(() -> {
        if (state != ClientState.CONNECTED) {
          result.completeExceptionally(new IllegalStateException("client " + config.clientId() + " is " + state
              + " (expected: CONNECTED)"));
          return;
        }
        long stamp = config.ticker().nanoTime() & Long.MAX_VALUE;
        while (pings.containsKey(stamp)) {
          stamp++;
        }
        pings.put(stamp, result);
        write(new Frame.Ping(stamp));
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      result.completeExceptionally(new IllegalStateException("client " + config.clientId() + " closed"));
    }
    return result;
  }

  private void failPings(Throwable cause) {
    if (!pings.isEmpty()) {
      List<CompletableFuture<Duration>> waiting = new ArrayList<>(pings.values());
      pings.clear();
      waiting.forEach(f -> f.completeExceptionally(cause));
    }
  }

  /**
   * Messages the server accepted but could not deliver (REJECT, e.g. to another node while the
   * cluster store is down); each failed its {@link #send} future with the server's code.
   */
  public long rejectedMessages() {
    return rejected;
  }

  /** Answers that arrived after their request had timed out or was cancelled; they were dropped. */
  public long lateResponses() {
    return requests.late();
  }

  /**
   * Subscribes to {@code topic}, also for every later session; completes when the gateway applied
   * it. A subscription the gateway refuses (e.g. {@code FORBIDDEN}) fails with its code and is not
   * renewed in later sessions.
   */
  public CompletableFuture<Void> subscribe(String topic) {
    FieldRule.TOPIC.require(topic);
    return sequenced(new Frame.Subscribe(0, topic), () -> topics.add(topic));
  }

  /** Unsubscribes from {@code topic}; completes when the gateway applied it. */
  public CompletableFuture<Void> unsubscribe(String topic) {
    FieldRule.TOPIC.require(topic);
    return sequenced(new Frame.Unsubscribe(0, topic), () -> topics.remove(topic));
  }

  /** The current lifecycle state. */
  public ClientState state() {
    return state;
  }

  /** The session id the server gave, or {@code null} before the first login. */
  public String sessionId() {
    return sessionId;
  }

  /** Consecutive failed connection attempts since the connection was last stable. */
  public int attempt() {
    return attempt;
  }

  /** Time left until the next connection attempt while RECONNECTING; else {@code null}. */
  public Duration nextRetryIn() {
    if (state != ClientState.RECONNECTING) {
      return null;
    }
    return Duration.ofNanos(Math.max(0, nextRetryAtNanos - config.ticker().nanoTime()));
  }

  /**
   * The heartbeat interval in use: the gateway's, or what the client learned for its network
   * ({@link Builder#adaptiveHeartbeat}); {@code null} before the first login.
   */
  public Duration heartbeatInterval() {
    long ms = tuner != null && !versionOneOnly && tuner.currentMs() > 0 ? tuner.currentMs() : fixedHeartbeatMs;
    return ms <= 0 ? null : Duration.ofMillis(ms);
  }

  /**
   * Connections the client closed because the PING after an idle interval went unanswered, the way
   * NAT expiry kills a connection ({@link Builder#adaptiveHeartbeat}; always 0 without).
   */
  public long natExpiries() {
    return tuner == null ? 0 : tuner.natExpiries();
  }

  /**
   * Tells an adaptive client whether the application is in the foreground: there it uses the
   * gateway's interval (a user is waiting; wake-ups matter less), in the background the interval it
   * learned. Default: background. Does nothing without {@link Builder#adaptiveHeartbeat}.
   */
  public void foreground(boolean foreground) {
    if (tuner == null) {
      return;
    }
    onLoop(() -> {
      long ms = tuner.foreground(foreground);
      if (heartbeat != null && state == ClientState.CONNECTED) {
        heartbeat.probing(tuner.learning());
        if (ms > 0) {
          moveHeartbeat(ms);
        }
      }
    });
  }

  /** The fallback tier in use ({@link Builder#fallback}); {@link Route#DIRECT} without one. */
  public Route route() {
    return routeNow;
  }

  /** The round-trip time of the last answered heartbeat, or {@code null} if none yet. */
  public Duration lastRtt() {
    long n = lastRttNanos;
    return n < 0 ? null : Duration.ofNanos(n);
  }

  /**
   * Messages the server dropped for this client under its drop-oldest policy, over the client's
   * life (each drop was also reported to {@link ClientListener#onMessagesDropped}).
   */
  public long messagesDroppedByServer() {
    return messagesDroppedByServer;
  }

  /** How many fresh tokens the client sent because the gateway asked (REAUTH). */
  public long tokenRefreshes() {
    return tokenRefreshes;
  }

  /** How many times a connection broke and the client set out to reconnect. */
  public long reconnects() {
    return reconnects;
  }

  /** Sends, subscriptions and unsubscriptions queued or awaiting the gateway's ACK (read without locking: approximate). */
  public int queuedMessages() {
    return outbox.size();
  }

  public String clientId() {
    return config.clientId();
  }

  /** Completes when the client is CLOSED. */
  public CompletableFuture<Void> closeFuture() {
    return closeFuture;
  }

  /**
   * Ends the session (sends CLOSE), closes the connection and, unless a shared event loop group was
   * given, stops the client's thread. Messages not yet acknowledged fail. Returns at once.
   */
  public CompletableFuture<Void> closeAsync() {
    if (!closeFuture.isDone()) {
      try {
        loop.execute(this::doClose);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // already closed: the loop is gone
      }
    }
    return closeFuture;
  }

  /** {@link #closeAsync()} and waits up to 5 s for it. */
  @Override
  public void close() {
    try {
      closeAsync().get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.warn("client {}: close did not finish cleanly: {}", config.clientId(), e.toString());
    }
  }

  static int sizeOf(Frame f) {
    if (f instanceof Frame.Data) {
      Frame.Data d = (Frame.Data) f;
      return 32 + d.payload().length + 2 * d.target().length();
    }
    return 32 + (f instanceof Frame.Subscribe ? ((Frame.Subscribe) f).topic().length() * 2 : 64);
  }

  // ---- sending ----

  private CompletableFuture<Void> sequenced(Frame unnumbered, Runnable onAccepted) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    boolean permit = false;
    if (permits != null) {
      try {
        permit = loop.inEventLoop() ? permits.tryAcquire()
            : permits.tryAcquire(config.blockTimeout().toNanos(), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        done.completeExceptionally(e);
        return done;
      }
      if (!permit) {
        done.completeExceptionally(new OutboxFullException("client " + config.clientId() + ": outbox still full after "
            + config.blockTimeout().toMillis() + " ms: the gateway has not acknowledged enough of what was sent"));
        return done;
      }
    }
    boolean holdsPermit = permit;
    loop.execute(() -> enqueue(unnumbered, onAccepted, done, holdsPermit));
    return done;
  }

  private void enqueue(Frame unnumbered, Runnable onAccepted, CompletableFuture<Void> done, boolean holdsPermit) {
    if (state == ClientState.CLOSED || state == ClientState.DISCONNECTED) {
      release(holdsPermit);
      done.completeExceptionally(new IllegalStateException("client " + config.clientId() + " is " + state
          + (state == ClientState.DISCONNECTED ? " (expected: connected or reconnecting); connect() first" : "")));
      return;
    }
    Frame frame = Outbox.renumber(unnumbered, outbox.nextSeq());
    int size = sizeOf(frame);
    if (!outbox.fits(size)) {
      release(holdsPermit);
      done.completeExceptionally(new OutboxFullException("client " + config.clientId() + ": " + outbox.size()
          + " frames unacknowledged or queued (the limit); the gateway is not keeping up or the client is offline"));
      return;
    }
    if (onAccepted != null) {
      onAccepted.run();
    }
    outbox.add(frame, done, size, holdsPermit);
    if (state == ClientState.CONNECTED) {
      flushOutbox();
    }
  }

  private void release(boolean holdsPermit) {
    if (holdsPermit) {
      permits.release();
    }
  }

  /** Writes the outbox after {@code writtenSeq} in order while the socket takes it. */
  private void flushOutbox() {
    Channel ch = channel;
    boolean wrote = false;
    Outbox.Pending p;
    while (ch.isWritable() && (p = outbox.after(writtenSeq)) != null) {
      ch.write(p.frame, ch.voidPromise());
      writtenSeq = p.seq();
      outbox.written(writtenSeq);
      wrote = true;
    }
    if (wrote) {
      heartbeat.onWrite(config.ticker().nanoTime());
      ch.flush();
    }
  }

  private void write(Frame frame) {
    heartbeat.onWrite(config.ticker().nanoTime());
    channel.writeAndFlush(frame, channel.voidPromise());
  }

  // ---- connecting ----

  private void startAttempt() {
    retryTimer = null;
    moveTo(ClientState.CONNECTING, null);
    List<InetSocketAddress> tier = routes.endpoints();
    // This round's order: a GOAWAY's alternative first, then the tier from where the last round stopped.
    List<InetSocketAddress> order = new ArrayList<>(tier.size() + 1);
    if (redirect != null) {
      order.add(redirect);
    }
    for (int i = 0; i < tier.size(); i++) {
      InetSocketAddress e = tier.get((endpointIndex + i) % tier.size());
      if (!e.equals(redirect)) {
        order.add(e);
      }
    }
    redirect = null;
    attemptStartedNanos = config.ticker().nanoTime();
    channel = null;
    log.debug("client {}: connecting to {} (attempt {}, {})", config.clientId(), order, attempt, routes.route());
    boolean ws = routes.route() == Route.WEBSOCKET;
    Dialer d = new Dialer(loop, order, config.raceStagger().toNanos(), config.raceMaxInFlight(),
        endpoint -> bootstrap(endpoint, ws ? config.fallback().webSockets.get(endpoint) : null).connect(endpoint),
        this::connected, cause -> {
          dialer = null;
          if (state == ClientState.CONNECTING) {
            triedInRound = routes.endpoints().size() - 1; // the race tried the whole round
            lost(null, cause);
          }
        });
    dialer = d;
    d.start();
  }

  /** @param ws the WebSocket URL to upgrade to after connecting; {@code null}: longlink frames straight on TCP */
  private Bootstrap bootstrap(InetSocketAddress endpoint, java.net.URI ws) {
    return new Bootstrap()
        .group(loop)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            if (ws != null) {
              if ("wss".equalsIgnoreCase(ws.getScheme())) {
                ch.pipeline().addLast(tlsContext != null
                    ? ClientTls.newHandler(tlsContext, config.tls(), ch.alloc(), endpoint)
                    : ClientTls.newHandler(systemTls().context(), systemTls().settings(), ch.alloc(), endpoint));
              }
              WebSocketTransport.addTo(ch.pipeline(), ws, config.maxFrameSize(), config.connectTimeout().toMillis());
            } else if (tlsContext != null) {
              ch.pipeline().addLast(ClientTls.newHandler(tlsContext, config.tls(), ch.alloc(), endpoint));
            }
            ch.pipeline().addLast(FrameEncoder.INSTANCE, new FrameDecoder(config.maxFrameSize()), new Handler());
          }
        });
  }

  /** The race's winner: this attempt's connection, on to the handshake. */
  private void connected(Channel ch, InetSocketAddress endpoint) {
    dialer = null;
    log.debug("client {}: connected to {}", config.clientId(), endpoint);
    if (state != ClientState.CONNECTING) {
      ch.close();
      return;
    }
    channel = ch;
    connectedEndpoint = endpoint;
    moveTo(ClientState.HANDSHAKING, null);
    long now = config.ticker().nanoTime();
    // Until WELCOME brings the server's settings, the connect timeout bounds the handshake.
    heartbeat = new Heartbeat(config.connectTimeout().toNanos(), 1, now);
    scheduleTimer(config.connectTimeout().toNanos()); // bounds the WebSocket upgrade and the token's fetch too
    if (ch.pipeline().get(WebSocketTransport.Messages.class) == null) {
      sendHello(ch);
    } // else the upgrade's completion sends it (Handler.userEventTriggered)
  }

  /** Fetches the token and sends HELLO on {@code ch}, if it is still the connection being set up. */
  private void sendHello(Channel ch) {
    fetchToken().whenComplete((token, err) -> onLoop(() -> {
      if (state != ClientState.HANDSHAKING || channel != ch) {
        return;
      }
      if (err != null) {
        log.warn("client {}: the token provider failed: {}", config.clientId(), err.toString());
        ch.close(); // a failed attempt: retried like a lost connection
        return;
      }
      String resume = sessionId == null ? "" : sessionId;
      // Wall-clock based so that it also grows across restarts of the client process.
      attemptStamp = Math.max(attemptStamp + 1, System.currentTimeMillis());
      write(new Frame.Hello(helloVersion(), config.clientId(), token, resume, resume.isEmpty() ? 0 : lastReceivedSeq,
          attemptStamp, config.deviceId()));
    }));
  }

  /** The lowest version that carries what this client uses: a device id needs 3, adapting its heartbeat 2. */
  private int helloVersion() {
    if (!config.deviceId().isEmpty()) {
      return Frame.VERSION_DEVICES;
    }
    return tuner == null || versionOneOnly ? Frame.VERSION : Frame.VERSION_ADAPTIVE_HEARTBEAT;
  }

  /** The provider's token; a provider that throws or answers {@code null} is a failed stage. */
  private java.util.concurrent.CompletionStage<String> fetchToken() {
    try {
      java.util.concurrent.CompletionStage<String> t = config.tokenProvider().token();
      if (t == null) {
        return CompletableFuture.failedFuture(new IllegalStateException("token provider answered null"));
      }
      return t.thenApply(v -> Objects.requireNonNull(v, "token provider completed with null"));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Runs {@code task} on the client's event loop (now, if already there). */
  private void onLoop(Runnable task) {
    if (loop.inEventLoop()) {
      task.run();
    } else {
      loop.execute(task);
    }
  }

  /** The gateway asked for a fresh token (REAUTH): fetched and sent as AUTH, on this connection, if still up. */
  private void onReauth(Channel ch, Frame.Reauth r) {
    log.debug("client {}: token expires in {} ms; fetching a fresh one", config.clientId(), r.expiresInMs());
    fetchToken().whenComplete((token, err) -> onLoop(() -> {
      if (err != null) {
        log.warn("client {}: the token provider failed on refresh (the gateway ends the connection when the token "
            + "expires; the client then reconnects and asks again): {}", config.clientId(), err.toString());
      } else if (state == ClientState.CONNECTED && channel == ch) {
        tokenRefreshes++;
        write(new Frame.Auth(token));
      }
    }));
  }

  private void onWelcome(Frame.Welcome w) {
    long now = config.ticker().nanoTime();
    long heartbeatMs = w.heartbeatIntervalMs();
    fixedHeartbeatMs = heartbeatMs;
    boolean adapting = tuner != null && w.version() >= Frame.VERSION_ADAPTIVE_HEARTBEAT;
    if (adapting) {
      heartbeatMs = tuner.onWelcome(w, defaultNetwork());
    }
    // A PONG timeout of 0: no probes, a fixed interval.
    heartbeat = new Heartbeat(TimeUnit.MILLISECONDS.toNanos(heartbeatMs), Math.max(1, w.heartbeatMisses()),
        adapting ? config.adaptiveHeartbeat().pongTimeout.toNanos() : 0, now);
    if (adapting) {
      heartbeat.probing(tuner.learning());
    }
    if (configuredBackoff == null && w.backoffInitialMs() > 0 && w.backoffMaxMs() >= w.backoffInitialMs()) {
      backoff = new Backoff(TimeUnit.MILLISECONDS.toNanos(w.backoffInitialMs()), TimeUnit.MILLISECONDS.toNanos(w.backoffMaxMs()));
    }
    String previous = sessionId != null ? sessionId : refusedSessionId;
    refusedSessionId = null;
    if (w.sessionStatus() == SessionStatus.RESUMED) {
      outbox.acknowledged(w.lastReceivedSeq(), this::acked);
      writtenSeq = w.lastReceivedSeq();
      log.debug("client {}: resumed session {}; server had up to {}, replaying from there", config.clientId(), w.sessionId(),
          w.lastReceivedSeq());
    } else {
      writtenSeq = 0;
      if (previous != null) {
        sessionLost(previous, w);
      }
    }
    sessionId = w.sessionId();
    everConnected = true;
    connectedAtNanos = now;
    triedInRound = 0;
    routes.loggedIn();
    int at = routes.endpoints().indexOf(connectedEndpoint);
    if (at >= 0) {
      endpointIndex = at; // what worked is tried first next time
    }
    if (routes.onFallback()) {
      scheduleProbe();
    }
    moveTo(ClientState.CONNECTED, null);
    if (adapting && heartbeatMs != w.heartbeatIntervalMs() && state == ClientState.CONNECTED) {
      write(new Frame.Heartbeat((int) heartbeatMs));
    }
    scheduleTimer(heartbeat.nanosUntilNextCheck(now));
    CompletableFuture<Void> f = connectFuture;
    connectFuture = null;
    if (f != null) {
      f.complete(null);
    }
    flushOutbox();
    for (Requests.Pending p : requests.unwritten()) {
      writeRequest(p);
    }
  }

  private void sessionLost(String previous, Frame.Welcome w) {
    lastReceivedSeq = 0;
    List<Frame> resubscribe = new ArrayList<>();
    for (String t : topics) {
      resubscribe.add(new Frame.Subscribe(0, t));
    }
    SessionLostException lostCause = new SessionLostException("session " + previous + " of client " + config.clientId()
        + " was lost before the gateway acknowledged this; it may or may not have been delivered");
    int unconfirmed = outbox.restartSession(resubscribe, p -> {
      release(p.holdsPermit);
      p.done.completeExceptionally(lostCause);
    });
    SessionLostEvent event = new SessionLostEvent(previous, w.sessionId(), w.lostMessages(), unconfirmed);
    log.info("client {}: SESSION_LOST: {}", config.clientId(), event);
    try {
      config.listener().onSessionLost(event);
    } catch (RuntimeException e) {
      log.warn("client {}: config.listener() failed on session lost", config.clientId(), e);
    }
  }

  /**
   * The connection {@code ch} failed or ended: decide between reconnecting (now, for failover
   * within a round of endpoints, or after a backoff delay) and giving up.
   */
  private void lost(Channel ch, Throwable cause) {
    if (ch != channel || state == ClientState.CLOSED || state == ClientState.DISCONNECTED
        || state == ClientState.RECONNECTING) {
      return;
    }
    channel = null;
    cancelTimer();
    requests.connectionLost(cause);
    answering.connectionLost();
    failPings(new ConnectionLostException("connection lost before the PONG", cause));
    unackedInbound = 0;
    if (ackTimer != null) {
      ackTimer.cancel(false);
      ackTimer = null;
    }
    long now = config.ticker().nanoTime();
    boolean wasConnected = state == ClientState.CONNECTED;
    if (cause instanceof LonglinkException && ((LonglinkException) cause).code() == ErrorCode.RESUME_REFUSED) {
      refusedSessionId = sessionId;
      sessionId = null;
    }
    cancelProbe();
    if (switching) {
      switching = false; // a planned move to the direct tier: resume there now
      triedInRound = 0;
      retryIn(0, cause);
      return;
    }
    ReconnectPolicy.Decision d = reconnectPolicy.decide(new ReconnectPolicy.Loss(cause,
        wasConnected ? now - connectedAtNanos : -1, everConnected, attempt, triedInRound, routes.endpoints().size(),
        goAwayDelayNanos, now - attemptStartedNanos), backoff);
    attempt = d.attempt();
    switch (d.action()) {
      case GIVE_UP:
        giveUp(d.failure());
        break;
      case FAIL_OVER:
        failOver(cause);
        break;
      case BACK_OFF:
        goAwayDelayNanos = 0;
        triedInRound = 0;
        if (d.nextRound()) {
          endpointIndex = (endpointIndex + 1) % routes.endpoints().size(); // the next round starts further on
        }
        Route before = routes.route();
        Route moved = wasConnected ? null : routes.roundFailed();
        if (moved != null) {
          endpointIndex = 0;
          attempt = 0; // a fresh path: its rounds back off from the start
          routeChanged(before, moved, RouteChange.Cause.FAILED);
          retryIn(0, cause); // a new tier: no reason to wait
        } else {
          retryIn(d.delayNanos(), cause);
        }
        break;
      default:
        throw new AssertionError(d.action());
    }
  }

  private void failOver(Throwable cause) {
    triedInRound++;
    endpointIndex = (endpointIndex + 1) % routes.endpoints().size();
    retryIn(0, cause);
  }

  private void retryIn(long delayNanos, Throwable cause) {
    nextRetryAtNanos = config.ticker().nanoTime() + delayNanos;
    moveTo(ClientState.RECONNECTING, cause);
    log.debug("client {}: reconnecting in {} ms (attempt {}): {}", config.clientId(), TimeUnit.NANOSECONDS.toMillis(delayNanos),
        attempt, cause == null ? "" : cause.toString());
    retryTimer = loop.schedule(this::startAttempt, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void giveUp(Throwable cause) {
    moveTo(ClientState.DISCONNECTED, cause);
    Throwable failure = cause != null ? cause : new LonglinkException(ErrorCode.OTHER, "connection lost");
    CompletableFuture<Void> f = connectFuture;
    connectFuture = null;
    if (f != null) {
      f.completeExceptionally(failure);
    }
    outbox.clear(p -> {
      release(p.holdsPermit);
      p.done.completeExceptionally(failure);
    });
    requests.failAll(new IllegalStateException("client " + config.clientId() + " gave up: " + failure, failure));
  }

  private void acked(Outbox.Pending p) {
    release(p.holdsPermit);
    p.done.complete(null);
  }

  // ---- receiving ----

  private void onFrame(Channel ch, Frame frame) {
    if (ch != channel) {
      return; // a late frame from a connection already given up
    }
    if (heartbeat.onRead(config.ticker().nanoTime()) && tuner != null && state == ClientState.CONNECTED) {
      long ms = tuner.survived(); // the probe after an idle interval was answered: the NAT kept the flow
      if (ms > 0) {
        moveHeartbeat(ms);
      }
    }
    if (state == ClientState.HANDSHAKING) {
      onHandshakeFrame(frame);
    } else if (state == ClientState.CONNECTED) {
      onSessionFrame(ch, frame);
    }
  }

  /** The server's answer to our HELLO. Every frame type is decided here: a new one does not compile unhandled. */
  private void onHandshakeFrame(Frame frame) {
    String unexpected = switch (frame.type()) {
      case WELCOME -> {
        onWelcome((Frame.Welcome) frame);
        yield null;
      }
      case GOAWAY -> {
        onGoAway((Frame.GoAway) frame); // a refusal with a retry-after (e.g. RATE_LIMITED)
        yield null;
      }
      case ERROR -> {
        Frame.Error e = (Frame.Error) frame;
        if (e.code() == ErrorCode.UNSUPPORTED_VERSION && tuner != null && !versionOneOnly
            && config.deviceId().isEmpty()) { // a device cannot log in without its device id: that error stands
          // A gateway from before protocol version 2: log in again at once with version 1, fixed heartbeat.
          log.warn("client {}: the gateway does not speak protocol version 2 ({}); adaptive heartbeat off for this "
              + "client", config.clientId(), e.message());
          versionOneOnly = true;
          switching = true;
        }
        closeWith(new LonglinkException(e.code(), e.message()));
        yield null;
      }
      case HELLO, PING, PONG, HEARTBEAT, DATA, ACK, SUBSCRIBE, UNSUBSCRIBE, GAP, REJECT, REQUEST, RESPONSE, CANCEL, CLOSE, REAUTH,
          AUTH -> frame.type() + " before WELCOME";
    };
    if (unexpected != null) {
      protocolError(ErrorCode.UNEXPECTED_FRAME, unexpected);
    }
  }

  /** A frame of the logged-in session. Every frame type is decided here: a new one does not compile unhandled. */
  private void onSessionFrame(Channel ch, Frame frame) {
    String unexpected = switch (frame.type()) {
      case DATA -> {
        onData((Frame.Data) frame);
        yield null;
      }
      case GAP -> {
        onGap((Frame.Gap) frame);
        yield null;
      }
      case REJECT -> {
        onReject((Frame.Reject) frame);
        yield null;
      }
      case RESPONSE -> {
        requests.answered((Frame.Response) frame);
        yield null;
      }
      case REQUEST -> {
        onRequest(ch, (Frame.Request) frame);
        yield null;
      }
      case CANCEL -> {
        answering.cancel(((Frame.Cancel) frame).requestId());
        yield null;
      }
      case ACK -> {
        long seq = ((Frame.Ack) frame).seq();
        if (!outbox.acknowledged(seq, this::acked)) {
          protocolError(ErrorCode.SEQUENCE_GAP, "ACK " + seq + " (expected: <= " + outbox.lastSeq()
              + ", the last seq sent)");
        }
        yield null;
      }
      case PING -> {
        // Not our own traffic: answering the gateway's RTT samples must not stop our heartbeat (and our RTT).
        channel.writeAndFlush(new Frame.Pong(((Frame.Ping) frame).timestamp()), channel.voidPromise());
        yield null;
      }
      case PONG -> {
        onPong((Frame.Pong) frame);
        yield null;
      }
      case GOAWAY -> {
        onGoAway((Frame.GoAway) frame);
        yield null;
      }
      case ERROR -> {
        Frame.Error e = (Frame.Error) frame;
        closeWith(new LonglinkException(e.code(), e.message()));
        yield null;
      }
      case CLOSE -> {
        Frame.Close c = (Frame.Close) frame;
        closeWith(new LonglinkException(c.code(), "server ended the session: " + c.reason()));
        yield null;
      }
      case REAUTH -> {
        onReauth(ch, (Frame.Reauth) frame);
        yield null;
      }
      case HELLO, WELCOME, HEARTBEAT, SUBSCRIBE, UNSUBSCRIBE, AUTH -> frame.type() + " from a server";
    };
    if (unexpected != null) {
      protocolError(ErrorCode.UNEXPECTED_FRAME, unexpected);
    }
  }

  private void onReject(Frame.Reject r) {
    Outbox.Pending p = outbox.pending(r.seq());
    if (p != null) { // the ACK that follows removes it; its sender learns now
      rejected++;
      if (p.frame instanceof Frame.Subscribe s) {
        topics.remove(s.topic()); // not asked again in a later session: it would be refused again
      }
      p.done.completeExceptionally(new LonglinkException(r.code(), "message " + r.seq() + " not delivered: "
          + r.message()));
    }
  }

  private void onRequest(Channel on, Frame.Request r) {
    answering.onRequest(r, answer -> {
      if (channel == on && state == ClientState.CONNECTED) {
        write(answer);
      }
    }, task -> {
      try {
        loop.execute(task);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        // the client is gone, and the asker's answer with it
      }
    });
  }

  private void onPong(Frame.Pong pong) {
    long stamp = pong.timestamp();
    lastRttNanos = (config.ticker().nanoTime() - stamp) & Long.MAX_VALUE;
    CompletableFuture<Duration> asked = pings.remove(stamp);
    if (asked != null) {
      asked.complete(Duration.ofNanos(lastRttNanos));
    }
  }

  /** The server asks us to leave: wait at least its delay, go where it says, then resume. */
  private void onGoAway(Frame.GoAway g) {
    if (unackedInbound > 0 && state == ClientState.CONNECTED) {
      sendAck(); // a draining server waits for this before it lets the session go
    }
    goAwayDelayNanos = TimeUnit.MILLISECONDS.toNanos(g.reconnectDelayMs());
    redirect = parseEndpoint(g.alternativeEndpoint());
    closeWith(new LonglinkException(g.code(), "GOAWAY: " + g.reason()));
  }

  private void onData(Frame.Data d) {
    // Duplicates (replays after a resume) are acknowledged again too.
    if (d.seq() <= lastReceivedSeq) {
      countForAck();
      return;
    }
    if (d.seq() != lastReceivedSeq + 1) {
      protocolError(ErrorCode.SEQUENCE_GAP, "seq " + d.seq() + " (expected: " + (lastReceivedSeq + 1) + ")");
      return;
    }
    lastReceivedSeq = d.seq();
    try {
      config.listener().onMessage(new ReceivedMessage(d.from(), d.targetKind(), d.target(), d.seq(), d.payload()));
    } catch (RuntimeException e) {
      log.warn("client {}: config.listener() failed on message {}", config.clientId(), d.seq(), e);
    }
    countForAck();
  }

  /** Messages the server dropped (drop-oldest policy): skip them, tell the application, carry on. */
  private void onGap(Frame.Gap g) {
    if (g.fromSeq() > lastReceivedSeq + 1) {
      protocolError(ErrorCode.SEQUENCE_GAP, "GAP from " + g.fromSeq() + " (expected: <= " + (lastReceivedSeq + 1) + ")");
      return;
    }
    if (g.toSeq() <= lastReceivedSeq) {
      countForAck();
      return;
    }
    MessagesDroppedEvent event = new MessagesDroppedEvent(lastReceivedSeq + 1, g.toSeq());
    lastReceivedSeq = g.toSeq();
    messagesDroppedByServer += event.count();
    try {
      config.listener().onMessagesDropped(event);
    } catch (RuntimeException e) {
      log.warn("client {}: config.listener() failed on {}", config.clientId(), event, e);
    }
    countForAck();
  }

  private void countForAck() {
    if (++unackedInbound >= config.ackBatchMessages() && state == ClientState.CONNECTED) {
      sendAck();
    }
  }

  private void onReadComplete(Channel ch) {
    if (ch != channel || unackedInbound == 0 || state != ClientState.CONNECTED) {
      return;
    }
    if (config.ackDelay().toNanos() == 0) {
      sendAck();
    } else if (ackTimer == null) {
      ackTimer = loop.schedule(() -> {
        ackTimer = null;
        if (unackedInbound > 0 && state == ClientState.CONNECTED) {
          sendAck();
        }
      }, config.ackDelay().toNanos(), TimeUnit.NANOSECONDS);
    }
  }

  private void sendAck() {
    unackedInbound = 0;
    if (ackTimer != null) {
      ackTimer.cancel(false);
      ackTimer = null;
    }
    write(new Frame.Ack(lastReceivedSeq));
  }

  private static InetSocketAddress parseEndpoint(String hostPort) {
    int i = hostPort.lastIndexOf(':');
    if (hostPort.isEmpty() || i <= 0) {
      return null;
    }
    try {
      return InetSocketAddress.createUnresolved(hostPort.substring(0, i), Integer.parseInt(hostPort.substring(i + 1)));
    } catch (IllegalArgumentException e) {
      log.warn("ignoring alternative endpoint '{}' from GOAWAY: not HOST:PORT", hostPort);
      return null;
    }
  }

  // ---- timers ----

  private void scheduleTimer(long delayNanos) {
    cancelTimer();
    timer = loop.schedule(this::onTimer, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void cancelTimer() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void onTimer() {
    timer = null;
    long now = config.ticker().nanoTime();
    if (state == ClientState.HANDSHAKING) {
      if (heartbeat.check(now) != Heartbeat.Action.NONE) {
        closeWith(new TimeoutException("no WELCOME within " + config.connectTimeout().toMillis() + " ms"));
      } else {
        scheduleTimer(heartbeat.nanosUntilNextCheck(now));
      }
      return;
    }
    if (state != ClientState.CONNECTED) {
      return;
    }
    Heartbeat.Action action = heartbeat.check(now);
    switch (action) {
      case DEAD:
        closeWith(new TimeoutException("heartbeat timeout: nothing from the server for "
            + TimeUnit.NANOSECONDS.toMillis(heartbeat.deadAfterNanos()) + " ms"));
        return;
      case PROBE_UNANSWERED: {
        long idleMs = TimeUnit.NANOSECONDS.toMillis(heartbeat.intervalNanos());
        tuner.expired(); // the next connection starts from the interval this teaches
        closeWith(new TimeoutException("heartbeat timeout (NAT expiry): the PING after " + idleMs
            + " ms idle got no answer within " + TimeUnit.NANOSECONDS.toMillis(heartbeat.pongTimeoutNanos()) + " ms"));
        return;
      }
      case PROBE:
      case PING:
        write(new Frame.Ping(now & Long.MAX_VALUE));
        if (state != ClientState.CONNECTED) {
          return; // the write failed the connection
        }
        if (action == Heartbeat.Action.PROBE) {
          heartbeat.probeSent(now);
        }
        break;
      default:
        break;
    }
    scheduleTimer(heartbeat.nanosUntilNextCheck(now));
  }

  // ---- fallback tiers ----

  private SystemTls systemTls() {
    if (systemTls == null) {
      ClientTls t = ClientTls.systemTrust();
      systemTls = new SystemTls(t, t.context());
    }
    return systemTls;
  }

  private void routeChanged(Route from, Route to, RouteChange.Cause cause) {
    routeNow = to;
    RouteChange c = new RouteChange(from, to, cause);
    log.info("client {}: route {} -> {} ({})", config.clientId(), from, to, cause);
    try {
      config.listener().onRouteChanged(c);
    } catch (RuntimeException e) {
      log.warn("client {}: the listener failed on a route change", config.clientId(), e);
    }
  }

  /** On a lower tier: in a while, see whether the direct endpoints connect again. */
  private void scheduleProbe() {
    cancelProbe();
    probeTimer = loop.schedule(this::probeDirect, config.fallback().probeDirectEvery.toNanos(), TimeUnit.NANOSECONDS);
  }

  private void cancelProbe() {
    if (probeTimer != null) {
      probeTimer.cancel(false);
      probeTimer = null;
    }
    if (probe != null) {
      probe.cancel();
      probe = null;
    }
  }

  /**
   * A bare TCP connect race to the direct endpoints. Only when one connects is the working
   * connection closed, and the session resumed on the direct tier at once.
   */
  private void probeDirect() {
    probeTimer = null;
    if (state != ClientState.CONNECTED || !routes.onFallback()) {
      return;
    }
    Bootstrap bare = new Bootstrap().group(loop).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
        .handler(new io.netty.channel.ChannelInboundHandlerAdapter());
    probe = new Dialer(loop, routes.direct(), config.raceStagger().toNanos(), config.raceMaxInFlight(), bare::connect,
        (ch, endpoint) -> {
          probe = null;
          ch.close();
          if (state != ClientState.CONNECTED || !routes.onFallback()) {
            return;
          }
          Route from = routes.route();
          routes.backToDirect();
          endpointIndex = Math.max(0, routes.endpoints().indexOf(endpoint));
          routeChanged(from, Route.DIRECT, RouteChange.Cause.DIRECT_WORKS);
          switching = true;
          closeWith(new ConnectionLostException("moving to the direct endpoint " + endpoint + ", which connects again",
              null));
        },
        cause -> {
          probe = null;
          log.debug("client {}: the direct endpoints still do not connect: {}", config.clientId(), cause.toString());
          if (state == ClientState.CONNECTED) {
            scheduleProbe();
          }
        });
    probe.start();
  }

  /** An adaptive client moves to {@code ms}: tells the gateway (its liveness deadline follows), then waits that long. */
  private void moveHeartbeat(long ms) {
    heartbeat.interval(TimeUnit.MILLISECONDS.toNanos(ms));
    heartbeat.probing(tuner.learning());
    write(new Frame.Heartbeat((int) ms));
    if (state == ClientState.CONNECTED) {
      scheduleTimer(heartbeat.nanosUntilNextCheck(config.ticker().nanoTime()));
    }
  }

  /** The network id when the application names none: this connection's local address and the gateway's endpoint. */
  private String defaultNetwork() {
    Channel ch = channel;
    String local = ch != null && ch.localAddress() instanceof InetSocketAddress a && a.getAddress() != null
        ? a.getAddress().getHostAddress() : "?";
    String remote = ch != null && ch.remoteAddress() instanceof InetSocketAddress r
        ? r.getHostString() + ":" + r.getPort() : "?";
    return local + " to " + remote;
  }

  // ---- closing ----

  private void protocolError(ErrorCode code, String message) {
    log.warn("client {}: server broke the protocol: {}: {}", config.clientId(), code, message);
    Channel ch = channel;
    if (ch != null && ch.isActive()) {
      ch.writeAndFlush(new Frame.Error(code, message));
    }
    closeWith(new LonglinkException(code, message));
  }

  /** The current connection is unusable: close it and decide what comes next. */
  private void closeWith(Throwable cause) {
    Channel ch = channel;
    lost(ch, cause);
    if (ch != null) {
      ch.close();
    }
  }

  private void doClose() {
    if (state == ClientState.CLOSED) {
      return;
    }
    cancelProbe();
    if (dialer != null) {
      dialer.cancel();
      dialer = null;
    }
    Channel ch = channel;
    boolean connected = state == ClientState.CONNECTED;
    channel = null;
    cancelTimer();
    if (retryTimer != null) {
      retryTimer.cancel(false);
      retryTimer = null;
    }
    moveTo(ClientState.CLOSED, null);
    IllegalStateException closed = new IllegalStateException("client " + config.clientId() + " closed");
    CompletableFuture<Void> f = connectFuture;
    connectFuture = null;
    if (f != null) {
      f.completeExceptionally(closed);
    }
    outbox.clear(p -> {
      release(p.holdsPermit);
      p.done.completeExceptionally(closed);
    });
    requests.failAll(closed);
    failPings(closed);
    answering.close();
    ChannelFuture done;
    if (ch != null && connected && ch.isActive()) {
      ch.writeAndFlush(new Frame.Close(ErrorCode.NORMAL, "client closed")).addListener(ChannelFutureListener.CLOSE);
      done = ch.closeFuture();
    } else if (ch != null) {
      done = ch.close();
    } else {
      done = null;
    }
    Runnable finish = () -> {
      if (ownsGroup) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).addListener(x -> closeFuture.complete(null));
      } else {
        closeFuture.complete(null);
      }
    };
    if (done == null) {
      finish.run();
    } else {
      done.addListener(x -> finish.run());
    }
  }

  private void moveTo(ClientState next, Throwable cause) {
    ClientState previous = state;
    if (!previous.canMoveTo(next)) {
      throw new IllegalStateException("client " + config.clientId() + ": " + previous + " -> " + next + " is not a legal transition");
    }
    state = next;
    if (next == ClientState.RECONNECTING) {
      reconnects++;
    }
    try {
      config.listener().onStateChanged(previous, next, cause);
    } catch (RuntimeException e) {
      log.warn("client {}: config.listener() failed on {} -> {}", config.clientId(), previous, next, e);
    }
  }

  /** The channel's handler: forwards everything to the client on its loop. */
  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (WebSocketTransport.handshakeComplete(evt) && ctx.channel() == channel && state == ClientState.HANDSHAKING) {
        sendHello(ctx.channel());
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      onFrame(ctx.channel(), (Frame) msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      onReadComplete(ctx.channel());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel() == channel && ctx.channel().isWritable() && state == ClientState.CONNECTED) {
        flushOutbox();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      lost(ctx.channel(), new LonglinkException(ErrorCode.OTHER, "connection closed"));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (ctx.channel() != channel) {
        ctx.close();
        return;
      }
      ProtocolException p = FrameDecoder.protocolCause(cause);
      if (p != null) {
        protocolError(p.code(), p.getMessage());
      } else if (cause instanceof io.netty.handler.codec.DecoderException
          && cause.getCause() instanceof javax.net.ssl.SSLException tls) {
        closeWith(tls); // e.g. SSLHandshakeException: the server's certificate is not trusted
      } else {
        closeWith(cause);
      }
    }
  }

  /** Builds a {@link LonglinkClient}; at least one endpoint and the client id are required. */
  public static final class Builder {
    private final List<InetSocketAddress> endpoints = new ArrayList<>();
    private String clientId;
    private String deviceId = "";
    private TokenProvider tokenProvider = TokenProvider.fixed("");
    private ClientListener listener = new ClientListener() {};
    private Duration connectTimeout = Duration.ofSeconds(10);
    private int maxFrameSize = 16 << 20;
    private Ticker ticker = Ticker.system();
    private Random random = ThreadLocalRandom.current();
    private EventLoopGroup group;
    private boolean reconnect = true;
    private boolean retryInitialConnect;
    private int maxAttempts;
    private Duration stableAfter = Duration.ofSeconds(30);
    private Duration backoffInitial;
    private Duration backoffMax;
    private int maxPendingMessages = 10_000;
    private long maxPendingBytes = 64L << 20;
    private OverflowPolicy overflowPolicy = OverflowPolicy.FAIL;
    private int ackBatchMessages = 64;
    private Duration ackDelay = Duration.ZERO;
    private Duration blockTimeout = Duration.ofSeconds(30);
    private ClientRequestHandler requestHandler;
    private java.util.concurrent.Executor requestExecutor;
    private ClientTls tls;
    private AdaptiveHeartbeat adaptiveHeartbeat;
    private Fallback fallback;
    private Duration raceStagger = Duration.ofMillis(250);
    private int raceMaxInFlight = 2;

    private Builder() {}

    /**
     * Fallback tiers for networks where the direct endpoints do not work: alternative ports, then
     * relays, with probes back to the direct path ({@link Fallback}). Default: the endpoints only.
     */
    public Builder fallback(Fallback fallback) {
      this.fallback = Objects.requireNonNull(fallback, "fallback");
      return this;
    }

    /**
     * How an attempt races its endpoints' TCP connects (Happy Eyeballs): the next starts when one
     * fails or after {@code stagger} without an answer, at most {@code maxInFlight} at once; the
     * first to connect wins. Default 250 ms, 2. {@code maxInFlight} 1 tries them one at a time.
     */
    public Builder connectRace(Duration stagger, int maxInFlight) {
      if (stagger == null || stagger.isNegative() || maxInFlight < 1) {
        throw new IllegalArgumentException("connectRace: stagger " + stagger + ", maxInFlight " + maxInFlight
            + " (expected: stagger >= 0, maxInFlight >= 1)");
      }
      this.raceStagger = stagger;
      this.raceMaxInFlight = maxInFlight;
      return this;
    }

    /**
     * Learns the longest heartbeat interval the network's NAT allows, within the gateway's bounds,
     * instead of using the gateway's fixed interval (fewer wake-ups and packets for idle clients).
     * Needs a gateway that speaks protocol version 2. Default: off.
     */
    public Builder adaptiveHeartbeat(AdaptiveHeartbeat adaptiveHeartbeat) {
      this.adaptiveHeartbeat = Objects.requireNonNull(adaptiveHeartbeat, "adaptiveHeartbeat");
      return this;
    }

    /** Connects over TLS, trusting and presenting what {@code tls} says; default plaintext. */
    public Builder tls(ClientTls tls) {
      this.tls = Objects.requireNonNull(tls, "tls");
      return this;
    }

    /**
     * Answers requests from other clients on the client's own request threads (created on first
     * use, daemon, stopped with the client). Default: none (askers get NO_HANDLER).
     */
    public Builder requestHandler(ClientRequestHandler handler) {
      return requestHandler(handler, null);
    }

    /** Answers requests from other clients on {@code executor} (the application's, not shut down by us). */
    public Builder requestHandler(ClientRequestHandler handler, java.util.concurrent.Executor executor) {
      this.requestHandler = Objects.requireNonNull(handler, "handler");
      this.requestExecutor = executor;
      return this;
    }

    /** A gateway address; call again to add failover endpoints, tried in order. */
    public Builder endpoint(String host, int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
      }
      return endpoint(new InetSocketAddress(host, port));
    }

    /** A gateway address; call again to add failover endpoints, tried in order. */
    public Builder endpoint(InetSocketAddress endpoint) {
      endpoints.add(Objects.requireNonNull(endpoint, "endpoint"));
      return this;
    }

    /** Who this client is; others address it by this id. 1..128 UTF-8 bytes, no control characters. */
    public Builder clientId(String clientId) {
      this.clientId = FieldRule.CLIENT_ID.require(clientId);
      return this;
    }

    /**
     * Logs in as one of its user's devices (protocol version 3): the gateway then keeps this
     * session beside the user's other devices instead of replacing them, delivers messages sent to
     * {@link Destination#user} of its principal here too, and shows the device in the user's
     * presence. 1..64 UTF-8 bytes, no control characters; stable per device (a new login with the
     * same device id replaces that device's session). Default: none (one session per client id).
     */
    public Builder deviceId(String deviceId) {
      io.longlink.protocol.FieldRule.DEVICE_ID.require(deviceId);
      if (deviceId.isEmpty()) {
        throw new IllegalArgumentException("deviceId: \"\" (expected: 1..64 bytes; leave it unset for no device)");
      }
      this.deviceId = deviceId;
      return this;
    }

    /** Credential for the gateway's authenticator; default none. */
    public Builder token(String token) {
      this.tokenProvider = TokenProvider.fixed(Objects.requireNonNull(token, "token"));
      return this;
    }

    /**
     * Gets the token from {@code provider} at every connection attempt and whenever the gateway asks
     * for a fresh one; replaces {@link #token}.
     */
    public Builder tokenProvider(TokenProvider provider) {
      this.tokenProvider = Objects.requireNonNull(provider, "provider");
      return this;
    }

    public Builder listener(ClientListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** Bounds the TCP connect and, separately, the wait for WELCOME. Default 10 s. */
    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = positive(connectTimeout, "connectTimeout");
      return this;
    }

    /** Largest frame accepted from the server; default 16 MiB. */
    public Builder maxFrameSize(int maxFrameSize) {
      if (maxFrameSize < 1024) {
        throw new IllegalArgumentException("maxFrameSize: " + maxFrameSize + " (expected: >= 1024)");
      }
      this.maxFrameSize = maxFrameSize;
      return this;
    }

    /** Reconnect and resume after a lost connection; default true. */
    public Builder reconnect(boolean reconnect) {
      this.reconnect = reconnect;
      return this;
    }

    /** Treat a failed first {@code connect()} like a lost connection and keep retrying; default false. */
    public Builder retryInitialConnect(boolean retryInitialConnect) {
      this.retryInitialConnect = retryInitialConnect;
      return this;
    }

    /** Give up (DISCONNECTED) after this many backoff rounds in a row; 0, the default, never gives up. */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts < 0) {
        throw new IllegalArgumentException("maxAttempts: " + maxAttempts + " (expected: >= 0)");
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /** A connection up this long resets the backoff to its initial delay; default 30 s. */
    public Builder stableAfter(Duration stableAfter) {
      this.stableAfter = positive(stableAfter, "stableAfter");
      return this;
    }

    /**
     * Override the backoff the server announces (by default the client uses the server's, so
     * operators tune a fleet in one place).
     */
    public Builder backoff(Duration initial, Duration max) {
      positive(initial, "backoff initial");
      positive(max, "backoff max");
      if (max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("backoff max: " + max + " (expected: >= initial " + initial + ")");
      }
      this.backoffInitial = initial;
      this.backoffMax = max;
      return this;
    }

    /** Bounds on sent-but-unacknowledged plus queued frames; defaults 10,000 and 64 MiB. */
    public Builder maxPending(int messages, long bytes) {
      if (messages < 1 || bytes < 1024) {
        throw new IllegalArgumentException("maxPending: " + messages + " messages, " + bytes
            + " bytes (expected: >= 1 and >= 1024)");
      }
      this.maxPendingMessages = messages;
      this.maxPendingBytes = bytes;
      return this;
    }

    /**
     * When to acknowledge received messages: at the latest after {@code messages} of them, and
     * otherwise at the end of each batch read from the socket ({@code delay} zero, the default) or
     * {@code delay} after the first unacknowledged one. Defaults: 64, zero.
     */
    public Builder ackBatch(int messages, Duration delay) {
      if (messages < 1 || delay == null || delay.isNegative()) {
        throw new IllegalArgumentException("ackBatch: " + messages + " messages, " + delay
            + " (expected: >= 1 and a delay >= 0)");
      }
      this.ackBatchMessages = messages;
      this.ackDelay = delay;
      return this;
    }

    /** What a send does when the outbox is full; default {@link OverflowPolicy#FAIL}. */
    public Builder overflowPolicy(OverflowPolicy policy, Duration blockTimeout) {
      this.overflowPolicy = Objects.requireNonNull(policy, "policy");
      this.blockTimeout = positive(blockTimeout, "blockTimeout");
      return this;
    }

    /** The clock for heartbeats, timeouts and backoff; default {@link Ticker#system()}. For tests. */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /** Randomness for backoff jitter. For tests. */
    public Builder random(Random random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /**
     * Share an NIO event loop group among many clients (it stays open when they close). Default: each
     * client starts its own single thread.
     */
    public Builder eventLoopGroup(EventLoopGroup group) {
      this.group = Objects.requireNonNull(group, "group");
      return this;
    }

    private static Duration positive(Duration d, String name) {
      if (d == null || d.isNegative() || d.isZero() || d.toMillis() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: > 0 and < 2^31 ms)");
      }
      return d;
    }

    public LonglinkClient build() {
      if (endpoints.isEmpty()) {
        throw new IllegalStateException("endpoint: not set (expected: endpoint(host, port))");
      }
      if (clientId == null) {
        throw new IllegalStateException("clientId: not set (expected: clientId(id))");
      }
      return new LonglinkClient(new ClientConfig(List.copyOf(endpoints), clientId, tokenProvider, listener, connectTimeout,
          maxFrameSize, ticker, random, group, reconnect, retryInitialConnect, maxAttempts, stableAfter, backoffInitial,
          backoffMax, maxPendingMessages, maxPendingBytes, overflowPolicy, ackBatchMessages, ackDelay, blockTimeout,
          requestHandler, requestExecutor, tls, adaptiveHeartbeat, fallback, raceStagger, raceMaxInFlight, deviceId));
    }
  }
}
