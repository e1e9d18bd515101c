package io.longlink.server;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameDecoder;
import io.longlink.protocol.ProtocolException;
import io.longlink.protocol.SessionStatus;
import io.longlink.server.Authenticator.AuthResult;
import io.longlink.server.MessageHandler.InboundMessage;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection on the server: handshake, frame handling, liveness deadline and cleanup.
 * The only per-connection handler besides the decoder. Confined to its channel's event loop, except
 * {@link #deliver} and {@link #replaced}, which hop onto it.
 */
final class ServerConnection extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
  /** How long a final ERROR/GOAWAY may take to write before the connection is cut anyway. */
  private static final long CLOSING_GRACE_NANOS = TimeUnit.SECONDS.toNanos(2);
  private static final int MAX_MESSAGE_CHARS = 300;

  private final Gateway gateway;
  private final LivenessSweeper sweeper;
  private final FrameDecoder decoder;
  private ChannelHandlerContext ctx;
  private ConnectionState state = ConnectionState.HANDSHAKING;
  private Session session;
  private boolean ackPending;

  /** When the connection expires unless something arrives; read by the sweeper. */
  long deadlineNanos;
  /** Slot in the sweeper's array; -1 when not supervised. */
  int sweepIndex = -1;

  ServerConnection(Gateway gateway, LivenessSweeper sweeper, FrameDecoder decoder) {
    this.gateway = gateway;
    this.sweeper = sweeper;
    this.decoder = decoder;
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
    gateway.connections.increment();
    deadlineNanos = gateway.ticker.nanoTime() + gateway.handshakeTimeoutNanos;
    sweeper.add(this);
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Frame)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    Frame frame = (Frame) msg;
    if (state == ConnectionState.HANDSHAKING) {
      onHandshakeFrame(frame);
    } else if (state == ConnectionState.OPEN) {
      onSessionFrame(frame);
    }
    // CLOSING / CLOSED: ignore whatever still arrives.
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (state == ConnectionState.OPEN) {
      // Any traffic proves the peer alive; the handshake deadline is never extended.
      deadlineNanos = gateway.ticker.nanoTime() + gateway.deadPeerTimeoutNanos;
      if (ackPending) {
        ackPending = false;
        ctx.write(new Frame.Ack(session.lastReceivedSeq), ctx.voidPromise());
      }
    }
    ctx.flush();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    release();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ProtocolException p = FrameDecoder.protocolCause(cause);
    if (p != null) {
      fail(p.code(), p.getMessage());
    } else if (cause instanceof IOException) {
      log.debug("{}: I/O error, closing: {}", this, cause.toString());
      ctx.close();
    } else {
      log.warn("{}: unexpected error, closing", this, cause);
      fail(ErrorCode.INTERNAL_ERROR, "internal error: " + cause.getClass().getSimpleName());
    }
  }

  private void onHandshakeFrame(Frame frame) {
    if (!(frame instanceof Frame.Hello)) {
      fail(ErrorCode.UNEXPECTED_FRAME, frame.type() + " before HELLO (expected: HELLO first)");
      return;
    }
    Frame.Hello hello = (Frame.Hello) frame;
    if (hello.version() != Frame.VERSION) {
      fail(ErrorCode.UNSUPPORTED_VERSION, "version " + hello.version() + " (expected: " + Frame.VERSION + ")");
      return;
    }
    AuthResult verdict;
    try {
      verdict = gateway.authenticator.authenticate(hello.clientId(), hello.token(), ctx.channel().remoteAddress());
    } catch (RuntimeException e) {
      log.warn("{}: authenticator failed for client {}", this, hello.clientId(), e);
      fail(ErrorCode.INTERNAL_ERROR, "authentication failed on the server");
      return;
    }
    if (verdict == null || !verdict.accepted()) {
      fail(ErrorCode.AUTH_FAILED, "client " + hello.clientId() + " refused: "
          + (verdict == null ? "no verdict" : verdict.reason()));
      return;
    }
    // Sessions are not retained across connections yet, so every resume finds its session gone.
    SessionStatus status = hello.resumeSessionId().isEmpty() ? SessionStatus.NEW : SessionStatus.LOST;
    Session s = new Session(hello.clientId(), verdict.subject(), SessionIds.next(), this);
    session = s;
    moveTo(ConnectionState.OPEN);
    decoder.setMaxFrameSize(gateway.config.maxFrameSize());
    deadlineNanos = gateway.ticker.nanoTime() + gateway.deadPeerTimeoutNanos;
    ServerConfig c = gateway.config;
    // Written before the session is registered, so no DATA can overtake it.
    ctx.write(new Frame.Welcome(Frame.VERSION, s.id, status, 0, 0, (int) c.heartbeatInterval().toMillis(),
        c.heartbeatMisses(), c.maxFrameSize(), (int) c.backoffInitial().toMillis(), (int) c.backoffMax().toMillis(), 0),
        ctx.voidPromise());
    Session old = gateway.sessions.register(s);
    if (old != null) {
      ServerConnection oldConnection = old.connection;
      if (oldConnection != null) {
        oldConnection.replaced();
      }
    }
    log.debug("{}: logged in ({})", this, status);
  }

  private void onSessionFrame(Frame frame) {
    if (frame instanceof Frame.Data) {
      Frame.Data d = (Frame.Data) frame;
      if (!acceptSeq(d.seq())) {
        return;
      }
      if (!d.from().isEmpty()) {
        fail(ErrorCode.PROTOCOL_ERROR, "from: \"" + d.from() + "\" (expected: empty; the server stamps the sender)");
        return;
      }
      onData(d);
    } else if (frame instanceof Frame.Ping) {
      ctx.write(new Frame.Pong(((Frame.Ping) frame).timestamp()), ctx.voidPromise());
    } else if (frame instanceof Frame.Ack) {
      long acked = ((Frame.Ack) frame).seq();
      if (acked > session.lastSentSeq) {
        fail(ErrorCode.SEQUENCE_GAP, "ACK " + acked + " (expected: <= " + session.lastSentSeq + ", the last seq sent)");
      }
    } else if (frame instanceof Frame.Subscribe) {
      Frame.Subscribe sub = (Frame.Subscribe) frame;
      if (acceptSeq(sub.seq()) && session.addTopic(sub.topic())) {
        gateway.topics.subscribe(sub.topic(), session);
      }
    } else if (frame instanceof Frame.Unsubscribe) {
      Frame.Unsubscribe unsub = (Frame.Unsubscribe) frame;
      if (acceptSeq(unsub.seq()) && session.removeTopic(unsub.topic())) {
        gateway.topics.unsubscribe(unsub.topic(), session);
      }
    } else if (frame instanceof Frame.Close) {
      log.debug("{}: client closed the session: {}", this, frame);
      moveTo(ConnectionState.CLOSING);
      ctx.close();
    } else if (frame instanceof Frame.Error) {
      log.debug("{}: client reported {}", this, frame);
      moveTo(ConnectionState.CLOSING);
      ctx.close();
    } else if (!(frame instanceof Frame.Pong)) {
      fail(ErrorCode.UNEXPECTED_FRAME, frame.type() + " from a client after the handshake");
    }
  }

  private void onData(Frame.Data d) {
    boolean route;
    try {
      route = gateway.messageHandler.onMessage(
          new InboundMessage(session.clientId, session.id, d.targetKind(), d.target(), d.payload()));
    } catch (RuntimeException e) {
      log.warn("{}: message handler failed on message {}; not routed", this, d.seq(), e);
      route = false;
    }
    if (route) {
      gateway.route(session.clientId, d.targetKind(), d.target(), d.payload());
    }
  }

  /** Applies docs/PROTOCOL.md section 5; true if the frame is new and must be processed. */
  private boolean acceptSeq(long seq) {
    long last = session.lastReceivedSeq;
    if (seq <= last) {
      ackPending = true; // a duplicate still gets (re)acknowledged
      return false;
    }
    if (seq != last + 1) {
      fail(ErrorCode.SEQUENCE_GAP, "seq " + seq + " (expected: " + (last + 1) + ")");
      return false;
    }
    session.lastReceivedSeq = seq;
    ackPending = true;
    return true;
  }

  /** Sends a message of this connection's session. Any thread. */
  void deliver(Frame.Data message) {
    EventLoop loop = ctx.channel().eventLoop();
    if (loop.inEventLoop()) {
      write(message);
    } else {
      try {
        loop.execute(() -> write(message));
      } catch (RejectedExecutionException e) {
        // The node is shutting down; the connection goes with it.
      }
    }
  }

  private void write(Frame.Data m) {
    if (state != ConnectionState.OPEN) {
      return;
    }
    long seq = ++session.lastSentSeq;
    ctx.writeAndFlush(new Frame.Data(seq, m.targetKind(), m.target(), m.from(), m.payload()), ctx.voidPromise());
  }

  /** Another connection logged in with this client id. Any thread. */
  void replaced() {
    ctx.channel().eventLoop().execute(() -> goAway(ErrorCode.REPLACED,
        "client " + session.clientId + " logged in on another connection", 0));
  }

  /** Sends GOAWAY and closes. Event loop only. */
  void goAway(ErrorCode code, String reason, int reconnectDelayMs) {
    if (state != ConnectionState.OPEN) {
      return;
    }
    log.debug("{}: GOAWAY {}: {}", this, code, reason);
    closeAfter(new Frame.GoAway(code, truncate(reason), reconnectDelayMs, ""));
  }

  /** Called by the sweeper when the deadline passed. */
  void deadlineExpired() {
    switch (state) {
      case HANDSHAKING:
        fail(ErrorCode.HANDSHAKE_TIMEOUT, "no HELLO within " + gateway.config.handshakeTimeout().toMillis() + " ms");
        break;
      case OPEN:
        fail(ErrorCode.HEARTBEAT_TIMEOUT, "nothing received for " + gateway.config.deadPeerTimeout().toMillis()
            + " ms (expected: a frame at least every " + gateway.config.heartbeatInterval().toMillis() + " ms)");
        break;
      default:
        // The final frame did not get out within the grace period.
        deadlineNanos = gateway.ticker.nanoTime() + CLOSING_GRACE_NANOS;
        ctx.close();
    }
  }

  /** Sends ERROR and closes: the answer to every protocol violation. */
  private void fail(ErrorCode code, String message) {
    if (state == ConnectionState.CLOSING || state == ConnectionState.CLOSED) {
      return;
    }
    log.debug("{}: closing with {}: {}", this, code, message);
    closeAfter(new Frame.Error(code, truncate(message)));
  }

  private void closeAfter(Frame last) {
    moveTo(ConnectionState.CLOSING);
    deadlineNanos = gateway.ticker.nanoTime() + CLOSING_GRACE_NANOS;
    ctx.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
  }

  private void release() {
    if (state == ConnectionState.CLOSED) {
      return;
    }
    moveTo(ConnectionState.CLOSED);
    sweeper.remove(this);
    gateway.connections.decrement();
    Session s = session;
    if (s != null) {
      s.connection = null;
      gateway.sessions.remove(s);
      for (String topic : s.drainTopics()) {
        gateway.topics.unsubscribe(topic, s);
      }
    }
  }

  private void moveTo(ConnectionState next) {
    if (!state.canMoveTo(next)) {
      throw new IllegalStateException(this + ": " + state + " -> " + next + " is not a legal transition");
    }
    state = next;
  }

  private static String truncate(String s) {
    if (s.length() <= MAX_MESSAGE_CHARS) {
      return s;
    }
    int end = Character.isHighSurrogate(s.charAt(MAX_MESSAGE_CHARS - 1)) ? MAX_MESSAGE_CHARS - 1 : MAX_MESSAGE_CHARS;
    return s.substring(0, end) + "...";
  }

  @Override
  public String toString() {
    String remote = ctx == null ? "?" : String.valueOf(ctx.channel().remoteAddress());
    Session s = session;
    return s == null ? "connection " + remote : "connection " + remote + " client " + s.clientId + " session " + s.id;
  }
}
