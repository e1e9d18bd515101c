package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.FrameDecoder;
import io.longlink.protocol.ProtocolException;
import io.longlink.server.Authorizer;
import io.longlink.server.Limits;
import io.longlink.server.MessageHandler;
import io.longlink.server.MessageHandler.InboundMessage;
import io.longlink.server.SessionInfo;
import io.longlink.server.internal.netty.IdleOutboundBuffer;
import io.longlink.server.internal.netty.IdleReceiveHandles;
import io.longlink.server.internal.netty.PeerAddresses;
import io.longlink.server.internal.netty.SharedEpollOps;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.io.IOException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection on the server: handshake (new session or resume), frame handling, ack
 * batching, liveness deadline, and writing its session's buffered messages in order. It decodes
 * and encodes frames itself and is the connection's whole pipeline: every handler context costs
 * memory on each of a million idle connections. Confined to its channel's event loop, except the
 * methods documented as "any thread", which hop onto it.
 *
 * <p>Outbound messages are pulled, not pushed: a message for the session is numbered and buffered
 * in the {@link Session}, and this connection writes whatever follows {@code writtenSeq} while the
 * socket is writable. A resume is the same path starting from what the client says it has.
 */
final class ServerConnection extends ChannelInboundHandlerAdapter
    implements Handshake.Party, LivenessSweeper.Supervised, Runnable, WriteCoalescer.Writer, LoopAuth.Holder {
  private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
  /** How long a final ERROR/GOAWAY may take to write before the connection is cut anyway. */
  private static final long CLOSING_GRACE_NANOS = TimeUnit.SECONDS.toNanos(2);
  private static final AtomicIntegerFieldUpdater<ServerConnection> FLUSH_SCHEDULED =
      AtomicIntegerFieldUpdater.newUpdater(ServerConnection.class, "flushScheduled");

  /** This event loop's liveness timer and write pass, and the way to the node's {@link Gateway}. */
  private final LoopContext loop;
  private ChannelHandlerContext ctx;
  /** Received bytes that do not yet make a whole frame; {@code null} between frames (the usual idle state). */
  private ByteBuf cumulation;
  private ConnectionState state = ConnectionState.HANDSHAKING;
  private Session session;
  /** Highest server-to-client seq written on this connection. */
  private long writtenSeq;
  /** Client frames accepted since the last ACK. */
  private short unackedInbound; // at most ackBatchMessages, which the config caps at 32,767
  /**
   * An ACK timer is pending. A flag, not the timer's future: one reference less per connection; a
   * timer that fires after the ACK went out finds nothing to acknowledge and does nothing.
   */
  private boolean ackTimerArmed;
  private volatile int flushScheduled;

  /** Frames and bytes received in the current one-second window (see {@link #newRateWindow}). */
  private short framesInWindow;
  private int bytesInWindow;
  /**
   * {@link #ADDRESS_COUNTED}, {@link #OUTBOUND_TAKEN}, {@link #TRIMMED}: three booleans in one byte,
   * which keeps this object at 80 bytes with {@link #heartbeatTenths} beside it.
   */
  private byte flags;
  /** Counted by the per-address limiter: must be released on close. */
  private static final int ADDRESS_COUNTED = 1;
  /** An idle sweep took the channel's empty outbound buffer ({@link IdleOutboundBuffer}); {@link #outbound} gives it back. */
  private static final int OUTBOUND_TAKEN = 2;
  /** {@link #releaseIdle} gave back what it could, and nothing was read or written since: the next one has nothing to do. */
  private static final int TRIMMED = 4;
  /**
   * The interval this client announced with a HEARTBEAT frame (version 2), clamped to the node's
   * bounds, in tenths of a second; 0 while it announced none (the node's interval applies).
   */
  private char heartbeatTenths;

  /** When the connection expires unless something arrives; read by the sweeper. */
  private long deadlineNanos;
  /** Slot in the sweeper's array; -1 when not supervised. */
  private int sweepIndex = -1;
  /** When the connection was accepted, in tenths of a second since the node started (an int: 6 years). */
  private int acceptedAtTenth;
  /** Why it is closing ({@link CloseReason} ordinal), once decided; for the lifecycle's "closed" line. */
  private byte closeReason = -1;
  /** Round trip of the last sampled server PING, in microseconds; -1 before the first. */
  private int rttMicros = -1;
  /** The peer's IPv4 address and port when taken from Netty's channel ({@link PeerAddresses}); port 0 if not. */
  private int peerIp;
  private char peerPort;

  private boolean flag(int f) {
    return (flags & f) != 0;
  }

  private void flag(int f, boolean on) {
    flags = (byte) (on ? flags | f : flags & ~f);
  }

  ServerConnection(LoopContext loop) {
    this.loop = loop;
  }

  private Gateway gateway() {
    return loop.gateway;
  }

  @Override
  public long deadlineNanos() {
    return deadlineNanos;
  }

  @Override
  public int sweepIndex() {
    return sweepIndex;
  }

  @Override
  public void sweepIndex(int index) {
    sweepIndex = index;
  }

  /** The connection's channel, once added to a pipeline. */
  io.netty.channel.Channel channel() {
    return ctx.channel();
  }

  ConnectionState state() {
    return state;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    // Netty's own object serves the accept's log line and the address limit before it is dropped.
    java.net.SocketAddress peerAddress = ctx.channel().remoteAddress();
    long peer = PeerAddresses.take(ctx.channel());
    if (peer != PeerAddresses.NOT_TAKEN) {
      peerIp = PeerAddresses.ip(peer);
      peerPort = PeerAddresses.port(peer);
    }
    Gateway g = gateway();
    g.counters.connections.increment();
    long now = g.ticker.nanoTime();
    acceptedAtTenth = (int) ((now - g.startNanos) / 100_000_000L);
    deadlineNanos = now + g.handshakeTimeoutNanos;
    Lifecycle.connected(peerAddress);
    loop.sweeper.add(this);
    ctx.fireChannelActive();
    Limits limits = g.config.limits();
    if (limits.maxConnections() > 0 && g.counters.connections.sum() > limits.maxConnections()) {
      refuse(Limits.Limit.CONNECTIONS, ErrorCode.LIMIT_EXCEEDED, "node at its limit of " + limits.maxConnections()
          + " connections; try another node");
    } else if (g.addresses.enabled() && peerAddress instanceof java.net.InetSocketAddress remote) {
      Limits.Limit broken = g.addresses.admit(remote.getAddress(), g.ticker.nanoTime());
      if (broken == null) {
        flag(ADDRESS_COUNTED, true);
      } else if (broken == Limits.Limit.CONNECTIONS_PER_ADDRESS) {
        refuse(broken, ErrorCode.LIMIT_EXCEEDED, "address at its limit of " + limits.maxConnectionsPerAddress()
            + " connections");
      } else {
        refuse(broken, ErrorCode.RATE_LIMITED, "more than " + limits.maxNewConnectionsPerSecondPerAddress()
            + " new connections per second from this address");
      }
    }
  }

  /** Turns a client away for breaking a bound: counted, logged at debug, ERROR and close. */
  private void refuse(Limits.Limit limit, ErrorCode code, String why) {
    gateway().counters.limitHits.get(limit).increment();
    fail(code, why);
  }

  /**
   * Once a second, from the sweeper, before the rate window turns: drops what an idle connection
   * need not keep -- its session's replay buffer if empty, and if nothing arrived in the window just
   * ended its receive handles ({@link IdleReceiveHandles}) and its outbound buffer if empty ({@link
   * IdleOutboundBuffer}), and its own copy of its epoll interest set ({@link SharedEpollOps}).
   */
  @Override
  public void releaseIdle() {
    if (bytesInWindow == 0 && flag(TRIMMED)) {
      return; // a connection idle since the last trim: its session, channel and unsafe stay untouched (and out of cache)
    }
    flag(TRIMMED, false);
    Session s = session;
    if (s != null) {
      s.releaseIdleBuffer();
    }
    if (bytesInWindow == 0 && ctx != null) {
      io.netty.channel.Channel ch = ctx.channel();
      IdleReceiveHandles.release(ch);
      SharedEpollOps.share(ch);
      if (state == ConnectionState.OPEN && !flag(OUTBOUND_TAKEN)) {
        flag(OUTBOUND_TAKEN, IdleOutboundBuffer.release(ch));
      }
      flag(TRIMMED, true);
    }
  }

  /** A new one-second window of the inbound rate limits; called by the sweeper. */
  @Override
  public void newRateWindow() {
    if (framesInWindow != 0 || bytesInWindow != 0) { // an idle connection is only read: its cache line stays clean
      framesInWindow = 0;
      bytesInWindow = 0;
    }
  }

  /**
   * Decodes frames and handles each at once: this handler is the whole pipeline, so nothing is
   * passed on and no second handler context is needed per connection. After a framing error (and
   * once closing) whatever else arrives is discarded.
   */
  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf in = (ByteBuf) msg;
    if (!reading() && state != ConnectionState.CLAIMING) {
      in.release();
      return;
    }
    int maxBytes = gateway().config.limits().maxInboundBytesPerSecond();
    gateway().counters.bytesIn.add(in.readableBytes());
    bytesInWindow += in.readableBytes();
    if (maxBytes > 0 && (bytesInWindow > maxBytes || bytesInWindow < 0)) {
      in.release();
      refuse(Limits.Limit.INBOUND_BYTES, ErrorCode.RATE_LIMITED, "more than " + maxBytes + " bytes per second");
      return;
    }
    ByteBuf buf = cumulation == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, in);
    cumulation = null;
    decodeFrames(buf);
  }

  /** Handles every whole frame in {@code buf}; keeps the rest (and everything, while CLAIMING) for later. */
  private void decodeFrames(ByteBuf buf) {
    try {
      Frame frame;
      int maxFrames = gateway().config.limits().maxInboundMessagesPerSecond();
      // Held back (backpressure): the rest waits undecoded until reading resumes.
      while (reading() && ctx.channel().config().isAutoRead()
          && (frame = FrameDecoder.decodeOne(buf, maxFrameSize())) != null) {
        if (maxFrames > 0 && ++framesInWindow > maxFrames) {
          refuse(Limits.Limit.INBOUND_MESSAGES, ErrorCode.RATE_LIMITED, "more than " + maxFrames + " frames per second");
          break;
        }
        if (state == ConnectionState.HANDSHAKING) {
          if (frame instanceof Frame.Hello hello) {
            gateway().handshake.onHello(this, hello);
          } else {
            fail(ErrorCode.UNEXPECTED_FRAME, frame.type() + " before HELLO (expected: HELLO first)");
          }
        } else {
          onSessionFrame(frame);
        }
      }
    } catch (ProtocolException e) {
      fail(e.code(), e.getMessage());
    } finally {
      if ((reading() || state == ConnectionState.CLAIMING) && buf.isReadable()) {
        buf.discardSomeReadBytes();
        cumulation = buf; // the start of a frame, or frames waiting for the claim
      } else {
        buf.release();
      }
    }
  }

  private boolean reading() {
    return state == ConnectionState.HANDSHAKING || state == ConnectionState.OPEN;
  }

  /** The frame size limit: the handshake's until the session opens. */
  private int maxFrameSize() {
    return state == ConnectionState.HANDSHAKING ? FrameCodec.HANDSHAKE_MAX_FRAME_SIZE : gateway().config.maxFrameSize();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
    afterRead();
    ctx.fireChannelReadComplete();
  }

  /** After a batch of frames: liveness, the ACK (now or after the ack delay), flush. */
  private void afterRead() {
    if (state == ConnectionState.OPEN) {
      // Any traffic proves the peer alive; the handshake deadline is never extended.
      deadlineNanos = gateway().ticker.nanoTime() + deadPeerTimeoutNanos();
      if (unackedInbound > 0) {
        if (gateway().config.ackDelay().isZero()) {
          writeAck();
        } else if (!ackTimerArmed) {
          ackTimerArmed = true;
          ctx.executor().schedule(() -> {
            ackTimerArmed = false;
            if (state == ConnectionState.OPEN && unackedInbound > 0) {
              writeAck();
              ctx.flush();
            }
          }, gateway().config.ackDelay().toNanos(), TimeUnit.NANOSECONDS);
        }
      }
    }
    ctx.flush();
  }

  /** The TLS handshake's outcome (when the port speaks TLS): a failure is counted and closes the connection. */
  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess()) {
      tlsFailed(TlsFailure.of(e.cause()), e.cause());
    }
    ctx.fireUserEventTriggered(evt);
  }

  /**
   * The TLS handshake failed: counted by reason, logged, closed. A client that sent plaintext gets
   * a plaintext ERROR saying so (a longlink client without TLS then reports a clear cause).
   */
  private void tlsFailed(TlsFailure reason, Throwable cause) {
    if (state != ConnectionState.HANDSHAKING) {
      return; // counted once; the second report of the same failure (an exception after the event) closes nothing new
    }
    Gateway g = gateway();
    g.counters.tlsFailures.get(reason).increment();
    closing(CloseReason.TLS_HANDSHAKE);
    moveTo(ConnectionState.CLOSING);
    Lifecycle.tlsFailed(remote(), reason.label(), cause == null ? "" : String.valueOf(cause.getMessage()));
    log.debug("{}: TLS handshake failed ({}): {}", this, reason, cause == null ? "" : cause.toString());
    ChannelHandlerContext below = reason == TlsFailure.NOT_TLS ? ctx.pipeline().context(SslHandler.class) : null;
    if (below != null) {
      below.writeAndFlush(FrameCodec.encode(ctx.alloc(), new Frame.Error(ErrorCode.PROTOCOL_ERROR,
          "this port speaks TLS (expected: a TLS handshake first)"))).addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.close();
    }
  }

  /** Whether this connection has a TLS layer whose handshake has not finished. */
  private boolean tlsHandshaking() {
    SslHandler tls = ctx.pipeline().get(SslHandler.class);
    return tls != null && !tls.handshakeFuture().isDone();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (outbound().channel().isWritable()) {
      flushSession();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    release();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releaseCumulation();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ProtocolException p = FrameDecoder.protocolCause(cause);
    // A broken TLS record is a broken socket; during the TLS handshake, the handshake's failure (normally reported first).
    boolean tls = cause instanceof DecoderException && cause.getCause() instanceof javax.net.ssl.SSLException;
    if (tls && state == ConnectionState.HANDSHAKING && tlsHandshaking()) {
      tlsFailed(TlsFailure.of(cause), cause);
    } else if (tls || cause instanceof IOException) {
      if (state != ConnectionState.CLOSING && state != ConnectionState.CLOSED) {
        log.debug("{}: I/O error, closing: {}", this, cause.toString());
        closing(CloseReason.IO_ERROR);
        moveTo(ConnectionState.CLOSING);
        ctx.close();
      }
    } else if (p != null) {
      fail(p.code(), p.getMessage());
    } else {
      log.warn("{}: unexpected error, closing", this, cause);
      fail(ErrorCode.INTERNAL_ERROR, "internal error: " + cause.getClass().getSimpleName());
    }
  }

  // ---- the handshake's view of the connection (Handshake.Party) ----

  @Override
  public void claim() {
    moveTo(ConnectionState.CLAIMING); // frames wait until the directory has the session
    ctx.channel().config().setAutoRead(false);
  }

  @Override
  public boolean claiming() {
    return state == ConnectionState.CLAIMING;
  }

  @Override
  public void refuse(ErrorCode code, String message) {
    fail(code, message);
  }

  @Override
  public void refuse(Frame.GoAway goAway) {
    if (state == ConnectionState.HANDSHAKING || state == ConnectionState.CLAIMING) {
      closeAfter(goAway);
    }
  }

  @Override
  public void open(Session s, Frame.Welcome welcome, long writtenSeq) {
    session = s;
    this.writtenSeq = writtenSeq;
    moveTo(ConnectionState.OPEN);
    deadlineNanos = gateway().ticker.nanoTime() + gateway().deadPeerTimeoutNanos;
    outbound().write(encode(welcome), ctx.voidPromise());
  }

  @Override
  public void replay() {
    flushSession();
  }

  @Override
  public void opened() {
    if (!ctx.channel().config().isAutoRead()) {
      claimed();
    }
  }

  @Override
  public void execute(Runnable task) {
    if (ctx != null && ctx.executor().inEventLoop()) {
      task.run(); // an answer worked out on this loop already (a cluster claim): no second hop
    } else {
      onLoop(task);
    }
  }

  @Override
  public java.util.concurrent.Executor loop() {
    return ctx.executor();
  }

  /** Frames that arrived during the claim are handled now. */
  private void claimed() {
    ctx.channel().config().setAutoRead(true);
    ctx.flush();
    decodeWaiting();
  }

  /** Reading resumed: handles the frames that waited, undecoded, while it was off. */
  private void decodeWaiting() {
    ByteBuf waiting = cumulation;
    if (waiting != null && state == ConnectionState.OPEN) {
      cumulation = null;
      decodeFrames(waiting);
      afterRead();
    }
  }

  @Override
  public void readFromClient(boolean on) {
    Runnable set = () -> {
      if (state == ConnectionState.OPEN && ctx.channel().config().isAutoRead() != on) {
        ctx.channel().config().setAutoRead(on);
        if (on) {
          decodeWaiting();
        }
      }
    };
    if (ctx.executor().inEventLoop()) {
      set.run(); // in order with whatever this loop decided before
    } else {
      onLoop(set);
    }
  }

  @Override
  public void acknowledgeStored() {
    onLoop(() -> {
      if (state == ConnectionState.OPEN && session != null) {
        writeAck();
        ctx.flush();
      }
    });
  }

  /** A logged-in client's frame: every frame type is decided here, so a new one does not compile unhandled. */
  private void onSessionFrame(Frame frame) {
    Gateway g = gateway();
    switch (frame) {
      case Frame.Data d -> {
        if (!d.from().isEmpty()) {
          fail(ErrorCode.PROTOCOL_ERROR, "from: \"" + d.from() + "\" (expected: empty; the server stamps the sender)");
        } else if (acceptSeq(d.seq())) {
          g.counters.messagesIn.increment();
          onData(d);
        }
      }
      case Frame.Ping ping -> {
        g.counters.heartbeats.increment();
        outbound().write(encode(new Frame.Pong(ping.timestamp())), ctx.voidPromise());
      }
      case Frame.Heartbeat h -> {
        heartbeatTenths = g.heartbeatTenths(h.intervalMs());
        g.clientIntervalMillis.accept(heartbeatTenths * 100L);
      }
      case Frame.Ack ack -> {
        long acked = ack.seq();
        if (acked > writtenSeq || !session.acknowledged(acked, g.sessions().replayLimits)) {
          fail(ErrorCode.SEQUENCE_GAP, "ACK " + acked + " (expected: <= " + writtenSeq + ", the last seq sent)");
        } else {
          g.directory.acknowledged(session, acked);
        }
      }
      case Frame.Subscribe sub -> {
        int maxTopics = g.config.limits().maxSubscriptions();
        if (maxTopics > 0 && session.topicCount() >= maxTopics && !session.hasTopic(sub.topic())) {
          refuse(Limits.Limit.SUBSCRIPTIONS, ErrorCode.LIMIT_EXCEEDED, "more than " + maxTopics + " subscriptions");
        } else if (acceptSeq(sub.seq())) {
          if (allows(Authorizer.Action.SUBSCRIBE, sub.topic())) {
            g.directory.subscribe(session, sub.seq(), sub.topic());
          } else {
            forbidden(sub.seq(), "may not subscribe to topic " + sub.topic());
            g.directory.refused(session, sub.seq());
          }
        }
      }
      case Frame.Unsubscribe unsub -> {
        if (acceptSeq(unsub.seq())) {
          g.directory.unsubscribe(session, unsub.seq(), unsub.topic());
        }
      }
      case Frame.Request r -> {
        if (r.target().isEmpty() || allows(Authorizer.Action.REQUEST, r.target())) {
          g.requests.onRequest(this, session, r);
        } else {
          g.counters.forbidden.increment();
          outbound().write(encode(Frame.Response.failed(r.requestId(), ErrorCode.FORBIDDEN,
              Connection.truncate("may not send requests to client " + r.target()))), ctx.voidPromise());
        }
      }
      case Frame.Auth a -> g.handshake.onRefresh(this, session, a.token());
      case Frame.Cancel c -> g.requests.cancel(this, c.requestId());
      case Frame.Response r -> g.requests.onResponse(this, r);
      case Frame.Pong pong -> {
        long rtt = g.ticker.nanoTime() - pong.timestamp();
        if (rtt >= 0 && rtt < 60_000_000_000L) { // one of ours (a client may also send unasked PONGs)
          rttMicros = (int) (rtt / 1000);
          g.heartbeatRttNanos.accept(rtt);
        }
      }
      case Frame.Close close -> {
        closing(CloseReason.CLIENT_CLOSE);
        log.debug("{}: client ended the session: {}", this, close);
        g.directory.end(session, this, false);
        moveTo(ConnectionState.CLOSING);
        ctx.close();
      }
      case Frame.Error error -> {
        closing(CloseReason.CLIENT_ERROR);
        log.debug("{}: client reported {}", this, error);
        moveTo(ConnectionState.CLOSING);
        ctx.close();
      }
      case Frame.Hello x -> unexpected(x);
      case Frame.Welcome x -> unexpected(x);
      case Frame.Reject x -> unexpected(x);
      case Frame.Gap x -> unexpected(x);
      case Frame.GoAway x -> unexpected(x);
      case Frame.Reauth x -> unexpected(x);
    }
  }

  private void unexpected(Frame frame) {
    fail(ErrorCode.UNEXPECTED_FRAME, frame.type() + " from a client after the handshake");
  }

  private void onData(Frame.Data d) {
    // Sending to a user is sending to its principal's name: the SEND rules decide (clientId = sub by default).
    Authorizer.Action action = switch (d.targetKind()) {
      case CLIENT, USER -> Authorizer.Action.SEND;
      case TOPIC -> Authorizer.Action.PUBLISH;
    };
    if (!allows(action, d.target())) {
      forbidden(d.seq(), switch (d.targetKind()) {
        case CLIENT -> "may not send to client ";
        case USER -> "may not send to user ";
        case TOPIC -> "may not publish to topic ";
      } + d.target());
      gateway().directory.fromClient(this, session, d, false); // accepted, not routed: acknowledged in order
      return;
    }
    MessageHandler handler = gateway().messageHandler;
    boolean route = true;
    if (handler != MessageHandler.routeAll()) { // the default needs no InboundMessage per message
      try {
        route = handler.onMessage(
            new InboundMessage(session.clientId(), session.id().toString(), d.targetKind(), d.target(), d.payload()));
      } catch (RuntimeException e) {
        log.warn("{}: message handler failed on message {}; not routed", this, d.seq(), e);
        route = false;
      }
    }
    gateway().directory.fromClient(this, session, d, route);
  }

  /** Whether this connection's credential allows it: one lookup when the loop keeps credentials, none otherwise. */
  private boolean allows(Authorizer.Action action, String target) {
    ConnectionAuth a = loop.auth.of(this);
    return a == null || a.allows(action, target);
  }

  /** The client's sequenced frame {@code seq} is refused: REJECT FORBIDDEN before the ACK that covers it. */
  private void forbidden(long seq, String why) {
    gateway().counters.forbidden.increment();
    log.debug("{}: forbidden: {}", this, why);
    outbound().write(encode(new Frame.Reject(seq, ErrorCode.FORBIDDEN, Connection.truncate(why))), ctx.voidPromise());
  }

  @Override
  public void authenticated(ConnectionAuth auth) {
    loop.auth.put(this, auth);
  }

  @Override
  public void askForToken(int expiresInMs) {
    if (state == ConnectionState.OPEN) {
      outbound().writeAndFlush(encode(new Frame.Reauth(expiresInMs)), ctx.voidPromise());
    }
  }

  @Override
  public boolean tls() {
    return ctx != null && ctx.pipeline().get(SslHandler.class) != null;
  }

  /** Applies docs/PROTOCOL.md section 5; true if the frame is new and must be processed. */
  private boolean acceptSeq(long seq) {
    Session.Inbound verdict = session.acceptInbound(this, seq);
    if (verdict == Session.Inbound.GAP) {
      fail(ErrorCode.SEQUENCE_GAP, "seq " + seq + " (expected: " + (session.lastReceivedSeq() + 1) + ")");
      return false;
    }
    // A duplicate (a replay after resume) is acknowledged again but not processed.
    if (++unackedInbound >= gateway().config.ackBatchMessages()) {
      writeAck();
    }
    return verdict == Session.Inbound.NEW;
  }

  private void writeAck() {
    unackedInbound = 0;
    // Only what the directory keeps is acknowledged (in a cluster: what is stored, and survives this node).
    long seq = gateway().directory.ackable(session);
    if (seq > 0) {
      outbound().write(encode(new Frame.Ack(seq)), ctx.voidPromise());
    }
  }

  /** Coalesces into one task on the event loop. */
  @Override
  public void scheduleFlush() {
    // Read before the CAS: a fan-out offers to a connection many times per pass, and a failing CAS
    // still takes the cache line from the loop that clears the flag.
    if (flushScheduled == 0 && FLUSH_SCHEDULED.compareAndSet(this, 0, 1)) {
      try {
        ctx.executor().execute(this);
      } catch (RejectedExecutionException e) {
        // The node is shutting down; the connection goes with it.
      }
    }
  }

  /** The scheduled flush: now, or in the loop's next write pass when it writes to many connections. */
  @Override
  public void run() {
    if (loop.writes.writeNow(this)) {
      flushSession();
    }
  }

  /** The loop's write pass. */
  @Override
  public void writeNow() {
    flushSession();
  }

  /**
   * Writes the session's buffered messages after {@code writtenSeq}, in order, while writable; a
   * GAP first where the messages next in line were dropped.
   */
  private void flushSession() {
    flushScheduled = 0;
    if (state != ConnectionState.OPEN) {
      return;
    }
    ChannelHandlerContext out = outbound();
    Object[] batch = FLUSH_BATCH.get();
    int messages = 0;
    long bytes = 0;
    int n;
    // Whole batches into one buffer each: one write (and one flush) per batch, not per frame.
    while (out.channel().isWritable() && (n = session.nextAfter(writtenSeq, batch)) > 0) {
      int size = 0;
      for (int i = 0; i < n; i++) {
        size += batch[i] instanceof Outgoing o ? o.frameSize() : GAP_FRAME_BYTES;
      }
      ByteBuf buf = ctx.alloc().buffer(size);
      for (int i = 0; i < n; i++) {
        if (batch[i] instanceof Outgoing o) {
          o.writeTo(++writtenSeq, buf);
          messages++;
        } else {
          Frame.Gap gap = (Frame.Gap) batch[i];
          FrameCodec.encode(gap, buf);
          writtenSeq = gap.toSeq();
        }
        batch[i] = null;
      }
      bytes += buf.readableBytes();
      out.write(buf, ctx.voidPromise());
    }
    if (bytes > 0) {
      gateway().counters.messagesOut.add(messages);
      gateway().counters.bytesOut.add(bytes);
      ctx.flush();
    }
  }

  /** Bytes of a GAP frame: length, type, two numbers. */
  private static final int GAP_FRAME_BYTES = FrameCodec.LENGTH_FIELD_BYTES + 1 + 16;
  /** Each event loop's scratch array for {@link #flushSession}: up to this many frames per write. */
  private static final ThreadLocal<Object[]> FLUSH_BATCH = ThreadLocal.withInitial(() -> new Object[256]);

  @Override
  public void replayBufferOverflowed() {
    onLoop(() -> refuse(Limits.Limit.PENDING_ACKS, ErrorCode.SLOW_CONSUMER, "replay buffer full (" + gateway().config.replayBufferMessages()
        + " messages / " + gateway().config.replayBufferBytes() + " bytes unacknowledged); messages are being lost"));
  }

  @Override
  public void sendIfOpen(Frame frame) {
    if (ctx.executor().inEventLoop()) {
      if (state == ConnectionState.OPEN) {
        outbound().writeAndFlush(encode(frame), ctx.voidPromise());
      }
    } else {
      onLoop(() -> sendIfOpen(frame));
    }
  }

  @Override
  public void goAway(ErrorCode code, String reason) {
    onLoop(() -> goAwayNow(code, reason));
  }

  void onLoop(Runnable task) {
    if (ctx == null) {
      return;
    }
    try {
      ctx.executor().execute(task);
    } catch (RejectedExecutionException e) {
      // shutting down
    }
  }

  private void goAwayNow(ErrorCode code, String reason) {
    if (state != ConnectionState.OPEN) {
      return;
    }
    log.debug("{}: GOAWAY {}: {}", this, code, reason);
    closeAfter(new Frame.GoAway(code, Connection.truncate(reason), 0, ""));
  }

  @Override
  public void goAwayWithBacklog(String reason, int reconnectDelayMs, String alternativeEndpoint) {
    onLoop(() -> {
      if (state == ConnectionState.HANDSHAKING) {
        fail(ErrorCode.SERVER_SHUTDOWN, reason);
      } else if (state == ConnectionState.OPEN) {
        flushSession();
        log.debug("{}: GOAWAY SERVER_SHUTDOWN ({}), reconnect delay {} ms", this, reason, reconnectDelayMs);
        gateway().counters.goAways.get(ErrorCode.SERVER_SHUTDOWN).increment();
        Frame.GoAway goAway = new Frame.GoAway(ErrorCode.SERVER_SHUTDOWN, reason, reconnectDelayMs, alternativeEndpoint);
        goAwaySent(goAway);
        closing(CloseReason.DRAIN); // however the client then leaves, this is why
        outbound().writeAndFlush(encode(goAway), ctx.voidPromise());
      }
    });
  }

  @Override
  public void close() {
    if (ctx != null) {
      if (state == ConnectionState.HANDSHAKING || state == ConnectionState.OPEN) {
        closing(CloseReason.SHUTDOWN);
        moveTo(ConnectionState.CLOSING);
      }
      ctx.close();
    }
  }

  /** Decides (once) why the connection closes: counted now, logged when it is gone. */
  private void closing(CloseReason reason) {
    if (closeReason < 0) {
      closeReason = (byte) reason.ordinal();
      gateway().counters.closes.get(reason).increment();
    }
  }

  private void goAwaySent(Frame.GoAway g) {
    Session s = session;
    Lifecycle.goAwaySent(s == null ? null : s.clientId(), s == null ? null : s.id(), remote(), g.code().name(),
        g.reconnectDelayMs());
  }

  /** The peer's address, formatted only by whoever shows it. Any thread. */
  @Override
  public java.net.SocketAddress remote() {
    return peerPort != 0 ? PeerAddresses.of(peerIp, peerPort) : ctx == null ? null : ctx.channel().remoteAddress();
  }

  /**
   * The context to write through: first gives the channel back the outbound buffer an idle sweep
   * took. Every write and every writability check goes through here; a flush need not (a taken
   * buffer held nothing to flush). Event loop only.
   */
  private ChannelHandlerContext outbound() {
    flag(TRIMMED, false);
    if (flag(OUTBOUND_TAKEN)) {
      flag(OUTBOUND_TAKEN, false);
      IdleOutboundBuffer.restore(ctx.channel());
    }
    return ctx;
  }

  /** The node's heartbeat window, or this client's interval (HEARTBEAT) × the node's misses. */
  private long deadPeerTimeoutNanos() {
    char tenths = heartbeatTenths;
    return tenths == 0 ? gateway().deadPeerTimeoutNanos : tenths * 100_000_000L * gateway().config.heartbeatMisses();
  }

  @Override
  public void samplePing() {
    if (state != ConnectionState.OPEN || heartbeatTenths != 0) {
      // A client that adapts its interval learns how long its NAT keeps an idle flow: a PING from
      // here would refresh the mapping and spoil what it measures.
      return;
    }
    ChannelHandlerContext out = outbound();
    if (out.channel().isWritable()) {
      out.writeAndFlush(encode(new Frame.Ping(gateway().ticker.nanoTime() & Long.MAX_VALUE)), ctx.voidPromise());
    }
  }

  @Override
  public void deadlineExpired() {
    switch (state) {
      case HANDSHAKING:
        if (tlsHandshaking()) {
          tlsFailed(TlsFailure.TIMEOUT, null); // nothing can be written before TLS is up
          break;
        }
        // fall through
      case CLAIMING:
        fail(ErrorCode.HANDSHAKE_TIMEOUT, "no HELLO within " + gateway().config.handshakeTimeout().toMillis() + " ms");
        break;
      case OPEN:
        if (!ctx.channel().config().isAutoRead()) {
          // Held back (backpressure): its frames wait unread, so silence proves nothing. Read again.
          deadlineNanos = gateway().ticker.nanoTime() + deadPeerTimeoutNanos();
          loop.sweeper.add(this); // the sweep took it off its list
          readFromClient(true);
          break;
        }
        long silentMs = deadPeerTimeoutNanos() / 1_000_000;
        Lifecycle.heartbeatMissed(session.clientId(), session.id(), remote(), silentMs);
        fail(ErrorCode.HEARTBEAT_TIMEOUT, "nothing received for " + silentMs + " ms (expected: a frame at least every "
            + silentMs / gateway().config.heartbeatMisses() + " ms)");
        break;
      default:
        // The final frame did not get out within the grace period.
        deadlineNanos = gateway().ticker.nanoTime() + CLOSING_GRACE_NANOS;
        ctx.close();
    }
  }

  /** Sends ERROR and closes: the answer to every protocol violation. */
  private void fail(ErrorCode code, String message) {
    if (state == ConnectionState.CLOSING || state == ConnectionState.CLOSED) {
      return;
    }
    log.debug("{}: closing with {}: {}", this, code, message);
    closeAfter(new Frame.Error(code, Connection.truncate(message)));
  }

  private void closeAfter(Frame last) {
    ErrorCode code = last instanceof Frame.Error e ? e.code() : ((Frame.GoAway) last).code();
    Gateway g = gateway();
    closing(CloseReason.of(code));
    if (state == ConnectionState.HANDSHAKING) {
      g.counters.handshakesFailed.get(code).increment();
    } else if (last instanceof Frame.GoAway goAway) {
      g.counters.goAways.get(code).increment();
      goAwaySent(goAway);
    }
    moveTo(ConnectionState.CLOSING);
    deadlineNanos = gateway().ticker.nanoTime() + CLOSING_GRACE_NANOS;
    outbound().writeAndFlush(encode(last)).addListener(ChannelFutureListener.CLOSE);
  }

  private void release() {
    if (state == ConnectionState.CLOSED) {
      return;
    }
    if (state != ConnectionState.CLOSING) {
      closing(CloseReason.PEER_GONE); // FIN or RST, no CLOSE first
    }
    moveTo(ConnectionState.CLOSED);
    java.net.SocketAddress peerAddress = Lifecycle.closedWanted() || flag(ADDRESS_COUNTED) ? remote() : null; // made once
    if (Lifecycle.closedWanted()) {
      Session s = session;
      long durationMs = (gateway().ticker.nanoTime() - gateway().startNanos) / 1_000_000 - acceptedAtTenth * 100L;
      Lifecycle.closed(s == null ? null : s.clientId(), s == null ? null : s.id(), peerAddress,
          (closeReason < 0 ? CloseReason.OTHER : CloseReason.values()[closeReason]).label(), durationMs);
    }
    releaseCumulation();
    if (flag(ADDRESS_COUNTED) && peerAddress instanceof java.net.InetSocketAddress remote) {
      flag(ADDRESS_COUNTED, false);
      gateway().addresses.release(remote.getAddress());
    }
    loop.sweeper.remove(this);
    loop.auth.remove(this);
    gateway().requests.release(this);
    if (session != null) {
      gateway().directory.connectionLost(session, this);
    }
    // Last, so that whoever sees the count drop also sees the session settled.
    gateway().left();
  }

  private void releaseCumulation() {
    if (cumulation != null) {
      cumulation.release();
      cumulation = null;
    }
  }

  /** Frames are encoded here, not by a pipeline encoder: one handler context less per connection. */
  private ByteBuf encode(Frame f) {
    ByteBuf b = FrameCodec.encode(ctx.alloc(), f);
    gateway().counters.bytesOut.add(b.readableBytes());
    return b;
  }

  @Override
  public boolean isOpen() {
    return state == ConnectionState.OPEN;
  }

  @Override
  public SessionInfo.Link link() {
    Gateway g = gateway();
    long lastHeard = deadlineNanos - (state == ConnectionState.OPEN ? deadPeerTimeoutNanos() : g.handshakeTimeoutNanos);
    return new SessionInfo.Link(ctx == null ? null : String.valueOf(remote()),
        java.time.Instant.ofEpochMilli(g.startEpochMillis + acceptedAtTenth * 100L),
        java.time.Instant.ofEpochMilli(g.startEpochMillis + (lastHeard - g.startNanos) / 1_000_000),
        rttMicros < 0 ? null : java.time.Duration.ofNanos(rttMicros * 1000L));
  }

  private void moveTo(ConnectionState next) {
    if (!state.canMoveTo(next)) {
      throw new IllegalStateException(this + ": " + state + " -> " + next + " is not a legal transition");
    }
    state = next;
  }

  @Override
  public String toString() {
    String remote = ctx == null ? "?" : String.valueOf(remote());
    Session s = session;
    return s == null ? "connection " + remote : "connection " + remote + " client " + s.clientId() + " session " + s.id();
  }
}
