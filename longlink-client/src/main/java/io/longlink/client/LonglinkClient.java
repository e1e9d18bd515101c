package io.longlink.client;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.FieldRule;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameDecoder;
import io.longlink.protocol.FrameEncoder;
import io.longlink.protocol.ProtocolException;
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
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connection to a longlink gateway: logs in, sends messages to clients and topics, receives
 * messages through a {@link ClientListener}, and keeps the connection alive with heartbeats at the
 * interval the server asks for.
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

  private final InetSocketAddress endpoint;
  private final String clientId;
  private final String token;
  private final ClientListener listener;
  private final Duration connectTimeout;
  private final int maxFrameSize;
  private final Ticker ticker;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  /** The one thread that owns every field below. */
  private final EventLoop loop;

  private volatile ClientState state = ClientState.DISCONNECTED;
  private Channel channel;
  private CompletableFuture<Void> connectFuture;
  private ScheduledFuture<?> timer;
  private Heartbeat heartbeat;
  private volatile String sessionId;
  private volatile long lastRttNanos = -1;
  private long nextSeq = 1;
  private long lastReceivedSeq;
  private boolean ackPending;
  private final ArrayDeque<Pending> unacked = new ArrayDeque<>();
  private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();

  /** A sequenced frame the server has not acknowledged yet. */
  private static final class Pending {
    final long seq;
    final CompletableFuture<Void> done;

    Pending(long seq, CompletableFuture<Void> done) {
      this.seq = seq;
      this.done = done;
    }
  }

  private LonglinkClient(Builder b) {
    this.endpoint = b.endpoint;
    this.clientId = b.clientId;
    this.token = b.token;
    this.listener = b.listener;
    this.connectTimeout = b.connectTimeout;
    this.maxFrameSize = b.maxFrameSize;
    this.ticker = b.ticker;
    this.ownsGroup = b.group == null;
    this.group = ownsGroup ? new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory()) : b.group;
    this.loop = group.next();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Connects and logs in.
   *
   * @return completes when the session is established; fails with a {@link LonglinkException}
   *     carrying the server's code if it refused, or with the I/O error or timeout otherwise
   */
  public CompletableFuture<Void> connect() {
    CompletableFuture<Void> result = new CompletableFuture<>();
    loop.execute(() -> doConnect(result));
    return result;
  }

  /**
   * Sends a message.
   *
   * @return completes when the gateway acknowledged it (took responsibility for routing it);
   *     fails if the client is not connected or the connection is lost first
   */
  public CompletableFuture<Void> send(Destination to, byte[] payload) {
    Objects.requireNonNull(to, "to");
    Objects.requireNonNull(payload, "payload");
    if (payload.length > maxFrameSize) {
      throw new IllegalArgumentException("payload: " + payload.length + " bytes (expected: <= " + maxFrameSize + ")");
    }
    return sequenced(seq -> new Frame.Data(seq, to.kind(), to.name(), "", payload));
  }

  /** Subscribes to {@code topic}; completes when the gateway applied it. */
  public CompletableFuture<Void> subscribe(String topic) {
    FieldRule.TOPIC.require(topic);
    return sequenced(seq -> new Frame.Subscribe(seq, topic));
  }

  /** Unsubscribes from {@code topic}; completes when the gateway applied it. */
  public CompletableFuture<Void> unsubscribe(String topic) {
    FieldRule.TOPIC.require(topic);
    return sequenced(seq -> new Frame.Unsubscribe(seq, topic));
  }

  /** The current lifecycle state. */
  public ClientState state() {
    return state;
  }

  /** The session id the server gave, or {@code null} before the first login. */
  public String sessionId() {
    return sessionId;
  }

  /** The round-trip time of the last answered heartbeat, or {@code null} if none yet. */
  public Duration lastRtt() {
    long n = lastRttNanos;
    return n < 0 ? null : Duration.ofNanos(n);
  }

  public String clientId() {
    return clientId;
  }

  /** Completes when the client is CLOSED. */
  public CompletableFuture<Void> closeFuture() {
    return closeFuture;
  }

  /**
   * Ends the session (sends CLOSE), closes the connection and, unless a shared event loop group was
   * given, stops the client's thread. Messages not yet acknowledged fail. Returns at once; see
   * {@link #close()} to wait.
   */
  public CompletableFuture<Void> closeAsync() {
    loop.execute(this::doClose);
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
      log.warn("client {}: close did not finish cleanly: {}", clientId, e.toString());
    }
  }

  // ---- everything below runs on the loop ----

  private interface FrameFactory {
    Frame create(long seq);
  }

  private CompletableFuture<Void> sequenced(FrameFactory factory) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    loop.execute(() -> {
      if (state != ClientState.CONNECTED) {
        done.completeExceptionally(new IllegalStateException(
            "client " + clientId + " is " + state + " (expected: CONNECTED); connect() first"));
        return;
      }
      long seq = nextSeq++;
      Frame frame;
      try {
        frame = factory.create(seq);
      } catch (RuntimeException e) {
        nextSeq--;
        done.completeExceptionally(e);
        return;
      }
      unacked.add(new Pending(seq, done));
      write(frame);
    });
    return done;
  }

  private void write(Frame frame) {
    heartbeat.onWrite(ticker.nanoTime());
    channel.writeAndFlush(frame, channel.voidPromise());
  }

  private void doConnect(CompletableFuture<Void> result) {
    if (state != ClientState.DISCONNECTED) {
      result.completeExceptionally(new IllegalStateException(
          "connect(): client " + clientId + " is " + state + " (expected: DISCONNECTED)"));
      return;
    }
    connectFuture = result;
    moveTo(ClientState.CONNECTING, null);
    Bootstrap b = new Bootstrap()
        .group(loop)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(FrameEncoder.INSTANCE, new FrameDecoder(maxFrameSize), new Handler());
          }
        });
    ChannelFuture f = b.connect(endpoint);
    channel = f.channel();
    f.addListener((ChannelFutureListener) cf -> {
      if (!cf.isSuccess()) {
        disconnected(cf.channel(), cf.cause());
        return;
      }
      if (state != ClientState.CONNECTING || cf.channel() != channel) {
        cf.channel().close();
        return;
      }
      moveTo(ClientState.HANDSHAKING, null);
      long now = ticker.nanoTime();
      // Until WELCOME tells us the server's settings, the connect timeout bounds the handshake.
      heartbeat = new Heartbeat(connectTimeout.toNanos(), 1, now);
      write(Frame.Hello.newSession(clientId, token));
      scheduleTimer(connectTimeout.toNanos());
    });
  }

  private void onFrame(Channel ch, Frame frame) {
    if (ch != channel) {
      return; // a late frame from a connection already given up
    }
    heartbeat.onRead(ticker.nanoTime());
    if (state == ClientState.HANDSHAKING) {
      if (frame instanceof Frame.Welcome) {
        onWelcome((Frame.Welcome) frame);
      } else if (frame instanceof Frame.Error) {
        Frame.Error e = (Frame.Error) frame;
        fail(new LonglinkException(e.code(), e.message()));
      } else {
        protocolError(ErrorCode.UNEXPECTED_FRAME, frame.type() + " before WELCOME");
      }
      return;
    }
    if (state != ClientState.CONNECTED) {
      return;
    }
    if (frame instanceof Frame.Data) {
      onData((Frame.Data) frame);
    } else if (frame instanceof Frame.Ack) {
      onAck(((Frame.Ack) frame).seq());
    } else if (frame instanceof Frame.Ping) {
      write(new Frame.Pong(((Frame.Ping) frame).timestamp()));
    } else if (frame instanceof Frame.Pong) {
      lastRttNanos = (ticker.nanoTime() - ((Frame.Pong) frame).timestamp()) & Long.MAX_VALUE;
    } else if (frame instanceof Frame.GoAway) {
      Frame.GoAway g = (Frame.GoAway) frame;
      fail(new LonglinkException(g.code(), "GOAWAY: " + g.reason()));
    } else if (frame instanceof Frame.Error) {
      Frame.Error e = (Frame.Error) frame;
      fail(new LonglinkException(e.code(), e.message()));
    } else if (frame instanceof Frame.Close) {
      Frame.Close c = (Frame.Close) frame;
      fail(new LonglinkException(c.code(), "server closed the session: " + c.reason()));
    } else {
      protocolError(ErrorCode.UNEXPECTED_FRAME, frame.type() + " from a server");
    }
  }

  private void onWelcome(Frame.Welcome w) {
    sessionId = w.sessionId();
    long now = ticker.nanoTime();
    heartbeat = new Heartbeat(TimeUnit.MILLISECONDS.toNanos(w.heartbeatIntervalMs()), w.heartbeatMisses(), now);
    moveTo(ClientState.CONNECTED, null);
    scheduleTimer(heartbeat.nanosUntilNextCheck(now));
    log.debug("client {}: connected to {}, session {} ({}), heartbeat {} ms x {}", clientId, endpoint, w.sessionId(),
        w.sessionStatus(), w.heartbeatIntervalMs(), w.heartbeatMisses());
    CompletableFuture<Void> f = connectFuture;
    connectFuture = null;
    if (f != null) {
      f.complete(null);
    }
  }

  private void onData(Frame.Data d) {
    if (d.seq() <= lastReceivedSeq) {
      ackPending = true; // a duplicate: acknowledge again, deliver never
      return;
    }
    if (d.seq() != lastReceivedSeq + 1) {
      protocolError(ErrorCode.SEQUENCE_GAP, "seq " + d.seq() + " (expected: " + (lastReceivedSeq + 1) + ")");
      return;
    }
    lastReceivedSeq = d.seq();
    ackPending = true;
    try {
      listener.onMessage(new ReceivedMessage(d.from(), d.targetKind(), d.target(), d.seq(), d.payload()));
    } catch (RuntimeException e) {
      log.warn("client {}: listener failed on message {}", clientId, d.seq(), e);
    }
  }

  private void onAck(long seq) {
    if (seq >= nextSeq) {
      protocolError(ErrorCode.SEQUENCE_GAP, "ACK " + seq + " (expected: <= " + (nextSeq - 1) + ", the last seq sent)");
      return;
    }
    while (!unacked.isEmpty() && unacked.peekFirst().seq <= seq) {
      unacked.pollFirst().done.complete(null);
    }
  }

  private void onReadComplete(Channel ch) {
    if (ch == channel && ackPending && state == ClientState.CONNECTED) {
      ackPending = false;
      write(new Frame.Ack(lastReceivedSeq));
    }
  }

  private void scheduleTimer(long delayNanos) {
    if (timer != null) {
      timer.cancel(false);
    }
    timer = loop.schedule(this::onTimer, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void onTimer() {
    timer = null;
    long now = ticker.nanoTime();
    if (state == ClientState.HANDSHAKING) {
      if (heartbeat.check(now) != Heartbeat.Action.NONE) {
        fail(new TimeoutException("no WELCOME within " + connectTimeout.toMillis() + " ms"));
      } else {
        scheduleTimer(heartbeat.nanosUntilNextCheck(now));
      }
      return;
    }
    if (state != ClientState.CONNECTED) {
      return;
    }
    switch (heartbeat.check(now)) {
      case DEAD:
        fail(new TimeoutException("heartbeat timeout: nothing from the server for "
            + TimeUnit.NANOSECONDS.toMillis(heartbeat.deadAfterNanos()) + " ms"));
        return;
      case PING:
        write(new Frame.Ping(now & Long.MAX_VALUE));
        break;
      default:
        break;
    }
    scheduleTimer(heartbeat.nanosUntilNextCheck(now));
  }

  private void protocolError(ErrorCode code, String message) {
    log.warn("client {}: server broke the protocol: {}: {}", clientId, code, message);
    Channel ch = channel;
    if (ch != null && ch.isActive()) {
      ch.writeAndFlush(new Frame.Error(code, message));
    }
    fail(new LonglinkException(code, message));
  }

  /** The connection is unusable: close it and go DISCONNECTED. */
  private void fail(Throwable cause) {
    Channel ch = channel;
    disconnected(ch, cause);
    if (ch != null) {
      ch.close();
    }
  }

  private void disconnected(Channel ch, Throwable cause) {
    if (ch != channel || state == ClientState.DISCONNECTED || state == ClientState.CLOSED) {
      return;
    }
    channel = null;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    // State first: whoever a failed future wakes must already see DISCONNECTED.
    moveTo(ClientState.DISCONNECTED, cause);
    failPending(cause != null ? cause : new LonglinkException(ErrorCode.OTHER, "connection lost"));
  }

  private void failPending(Throwable cause) {
    CompletableFuture<Void> f = connectFuture;
    connectFuture = null;
    if (f != null) {
      f.completeExceptionally(cause);
    }
    for (Pending p; (p = unacked.pollFirst()) != null; ) {
      p.done.completeExceptionally(cause);
    }
    // The session is not resumed after a reconnect yet: sequence numbers restart with it.
    nextSeq = 1;
    lastReceivedSeq = 0;
    ackPending = false;
  }

  private void doClose() {
    if (state == ClientState.CLOSED) {
      return;
    }
    Channel ch = channel;
    channel = null;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    moveTo(ClientState.CLOSED, null);
    failPending(new IllegalStateException("client " + clientId + " closed"));
    ChannelFuture closed;
    if (ch != null && ch.isActive()) {
      closed = ch.writeAndFlush(new Frame.Close(ErrorCode.NORMAL, "client closed"));
      closed.addListener(ChannelFutureListener.CLOSE);
      closed = ch.closeFuture();
    } else if (ch != null) {
      closed = ch.close();
    } else {
      closed = null;
    }
    Runnable finish = () -> {
      if (ownsGroup) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).addListener(x -> closeFuture.complete(null));
      } else {
        closeFuture.complete(null);
      }
    };
    if (closed == null) {
      finish.run();
    } else {
      closed.addListener(x -> finish.run());
    }
  }

  private void moveTo(ClientState next, Throwable cause) {
    ClientState previous = state;
    if (!previous.canMoveTo(next)) {
      throw new IllegalStateException("client " + clientId + ": " + previous + " -> " + next + " is not a legal transition");
    }
    state = next;
    try {
      listener.onStateChanged(previous, next, cause);
    } catch (RuntimeException e) {
      log.warn("client {}: listener failed on {} -> {}", clientId, previous, next, e);
    }
  }

  /** The channel's handler: forwards everything to the client on its loop. */
  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      onFrame(ctx.channel(), (Frame) msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      onReadComplete(ctx.channel());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      disconnected(ctx.channel(), new LonglinkException(ErrorCode.OTHER, "connection closed by " + endpoint));
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
      } else {
        fail(cause);
      }
    }
  }

  /** Builds a {@link LonglinkClient}; endpoint and client id are required. */
  public static final class Builder {
    private InetSocketAddress endpoint;
    private String clientId;
    private String token = "";
    private ClientListener listener = new ClientListener() {};
    private Duration connectTimeout = Duration.ofSeconds(10);
    private int maxFrameSize = 16 << 20;
    private Ticker ticker = Ticker.system();
    private EventLoopGroup group;

    private Builder() {}

    /** The gateway's address. Resolved when built. */
    public Builder endpoint(String host, int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
      }
      return endpoint(new InetSocketAddress(host, port));
    }

    public Builder endpoint(InetSocketAddress endpoint) {
      this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
      return this;
    }

    /** Who this client is; others address it by this id. 1..128 UTF-8 bytes, no control characters. */
    public Builder clientId(String clientId) {
      this.clientId = FieldRule.CLIENT_ID.require(clientId);
      return this;
    }

    /** Credential for the gateway's authenticator; default none. */
    public Builder token(String token) {
      this.token = FieldRule.TOKEN.require(token);
      return this;
    }

    public Builder listener(ClientListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** Bounds the TCP connect and, separately, the wait for WELCOME. Default 10 s. */
    public Builder connectTimeout(Duration connectTimeout) {
      if (connectTimeout == null || connectTimeout.isNegative() || connectTimeout.isZero()
          || connectTimeout.toMillis() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("connectTimeout: " + connectTimeout + " (expected: > 0 and < 2^31 ms)");
      }
      this.connectTimeout = connectTimeout;
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

    /** The clock for heartbeats and timeouts; default {@link Ticker#system()}. For tests. */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
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

    public LonglinkClient build() {
      if (endpoint == null) {
        throw new IllegalStateException("endpoint: not set (expected: endpoint(host, port))");
      }
      if (clientId == null) {
        throw new IllegalStateException("clientId: not set (expected: clientId(id))");
      }
      return new LonglinkClient(this);
    }
  }
}
