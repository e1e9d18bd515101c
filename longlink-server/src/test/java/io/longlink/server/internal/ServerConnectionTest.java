package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.SessionStatus;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.testing.FakeTicker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import io.longlink.server.ServerConfig;
import io.longlink.server.Authenticator;
import io.longlink.server.MessageHandler;

/** The connection state machine and its liveness deadlines, on an embedded channel and a fake clock. */
class ServerConnectionTest {
  final FakeTicker ticker = new FakeTicker();
  final ServerConfig config = ServerConfig.builder()
      .heartbeatInterval(Duration.ofSeconds(30)).heartbeatMisses(3).handshakeTimeout(Duration.ofSeconds(5)).build();
  final Gateway gateway = new Gateway(config, Authenticator.acceptAll(), io.longlink.server.Authorizer.byCredential(), MessageHandler.routeAll(), null, ticker, null);
  final LoopContext loop = new LoopContext(ImmediateEventExecutor.INSTANCE, gateway);
  final LivenessSweeper<ServerConnection> sweeper = loop.sweeper;
  EmbeddedChannel ch;
  ServerConnection connection;

  EmbeddedChannel open() {
    connection = new ServerConnection(loop);
    ch = new EmbeddedChannel(connection);
    return ch;
  }

  @AfterEach
  void release() {
    if (ch != null) {
      ch.finishAndReleaseAll();
    }
  }

  void receive(Frame f) {
    ByteBuf buf = Unpooled.buffer();
    FrameCodec.encode(f, buf);
    ch.writeInbound(buf);
  }

  /** Frames written but not yet looked at: one outbound buffer may carry several. */
  private final java.util.ArrayDeque<Frame> sentFrames = new java.util.ArrayDeque<>();

  Frame sent() {
    if (sentFrames.isEmpty()) {
      ByteBuf buf = ch.readOutbound();
      if (buf == null) {
        return null;
      }
      try {
        for (Frame f; (f = io.longlink.protocol.FrameDecoder.decodeOne(buf, FrameCodec.DEFAULT_MAX_FRAME_SIZE)) != null; ) {
          sentFrames.add(f);
        }
        assertThat(buf.isReadable()).as("a buffer ends with a whole frame").isFalse();
      } finally {
        buf.release();
      }
    }
    return sentFrames.poll();
  }

  Frame.Welcome login(String id) {
    receive(Frame.Hello.newSession(id, ""));
    return (Frame.Welcome) sent();
  }

  @Test
  void welcomeCarriesTheServersLivenessSettings() {
    open();
    Frame.Welcome w = login("alice");
    assertThat(w.sessionStatus()).isEqualTo(SessionStatus.NEW);
    assertThat(w.sessionId()).matches("[0-9a-f]{32}");
    assertThat(w.heartbeatIntervalMs()).isEqualTo(30_000);
    assertThat(w.heartbeatMisses()).isEqualTo(3);
    assertThat(w.maxFrameSize()).isEqualTo(FrameCodec.DEFAULT_MAX_FRAME_SIZE);
    assertThat(gateway.sessions().store.get("alice")).isNotNull();
  }

  @Test
  void framesArriveWhateverTheReadBoundaries() {
    open();
    login("alice");
    gateway.sessions().topics.subscribe("news", gateway.sessions().store.get("alice"));
    gateway.sessions().store.get("alice").addTopic("news");
    ByteBuf stream = Unpooled.buffer();
    for (int i = 1; i <= 3; i++) {
      FrameCodec.encode(new Frame.Data(i, TargetKind.TOPIC, "news", "", new byte[] {(byte) i, 2, 3}), stream);
    }
    FrameCodec.encode(new Frame.Ping(7), stream);
    byte[] bytes = new byte[stream.readableBytes()];
    stream.readBytes(bytes).release();
    // One byte per read, then two frames and a half in one read, then the rest.
    for (int i = 0; i < 20; i++) {
      ch.writeInbound(Unpooled.wrappedBuffer(bytes, i, 1));
    }
    ch.writeInbound(Unpooled.wrappedBuffer(bytes, 20, bytes.length - 20));
    java.util.List<Frame> out = new java.util.ArrayList<>();
    for (Frame f; (f = sent()) != null; ) {
      out.add(f);
    }
    assertThat(out).filteredOn(f -> f instanceof Frame.Data).extracting(f -> ((Frame.Data) f).payload()[0])
        .containsExactly((byte) 1, (byte) 2, (byte) 3);
    assertThat(out).contains(new Frame.Pong(7), new Frame.Ack(3));
    assertThat(ch.isActive()).isTrue();
  }

  @Test
  void bytesAfterAFramingErrorAreDiscarded() {
    open();
    login("alice");
    ByteBuf bad = Unpooled.buffer();
    bad.writeInt(Integer.MAX_VALUE); // a length far beyond the limit
    FrameCodec.encode(new Frame.Ping(1), bad); // must not be answered
    ch.writeInbound(bad);
    Frame.Error e = (Frame.Error) sent();
    assertThat(e.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
    assertThat(sent()).isNull();
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void handshakeDeadlineIsNotExtendedByTraffic() {
    open();
    ticker.advance(Duration.ofMillis(4900));
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0})); // a slowloris' partial header
    assertThat(sweeper.sweep(ticker.nanoTime())).isZero();
    ticker.advance(Duration.ofMillis(100));
    assertThat(sweeper.sweep(ticker.nanoTime())).isEqualTo(1);
    assertThat(sent()).isEqualTo(new Frame.Error(ErrorCode.HANDSHAKE_TIMEOUT, "no HELLO within 5000 ms"));
    assertThat(ch.isOpen()).isFalse();
    assertThat(sweeper.size()).isZero();
    assertThat(gateway.counters.connections.sum()).isZero();
  }

  @Test
  void silenceBeyondIntervalTimesMissesClosesAndTrafficPostponesIt() {
    open();
    login("alice");
    // Timeline: 89 s of silence is fine; a PING at 89 s moves the deadline to 179 s.
    ticker.advance(Duration.ofSeconds(89));
    assertThat(sweeper.sweep(ticker.nanoTime())).isZero();
    receive(new Frame.Ping(5));
    assertThat(sent()).isEqualTo(new Frame.Pong(5));
    ticker.advance(Duration.ofSeconds(89));
    assertThat(sweeper.sweep(ticker.nanoTime())).isZero();
    ticker.advance(Duration.ofSeconds(1));
    assertThat(sweeper.sweep(ticker.nanoTime())).isEqualTo(1);
    Frame.Error error = (Frame.Error) sent();
    assertThat(error.code()).isEqualTo(ErrorCode.HEARTBEAT_TIMEOUT);
    assertThat(error.message()).contains("90000 ms");
    assertThat(ch.isOpen()).isFalse();
    // The session outlives its connection, kept for resume.
    assertThat(gateway.sessions().store.detachedCount()).isEqualTo(1);
    assertThat(gateway.sessions().store.get("alice").state()).isEqualTo(Session.State.DETACHED);
  }

  @Test
  void sequencedFramesAreAckedOncePerReadAndDuplicatesDropped() {
    open();
    login("alice");
    ByteBuf batch = Unpooled.buffer();
    FrameCodec.encode(new Frame.Subscribe(1, "news"), batch);
    FrameCodec.encode(new Frame.Data(2, TargetKind.TOPIC, "news", "", new byte[] {1}), batch);
    FrameCodec.encode(new Frame.Data(2, TargetKind.TOPIC, "news", "", new byte[] {1}), batch); // duplicate
    ch.writeInbound(batch);
    // One cumulative ACK for the batch; then, subscribed to its own topic, alice gets her message once.
    assertThat(sent()).isEqualTo(new Frame.Ack(2));
    ch.runPendingTasks();
    assertThat(sent()).isEqualTo(new Frame.Data(1, TargetKind.TOPIC, "news", "alice", new byte[] {1}));
    assertThat(sent()).isNull();
  }

  @Test
  void sequenceGapIsAnError() {
    open();
    login("alice");
    receive(new Frame.Data(2, TargetKind.CLIENT, "bob", "", new byte[0]));
    assertThat(sent()).isEqualTo(new Frame.Error(ErrorCode.SEQUENCE_GAP, "seq 2 (expected: 1)"));
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void ackAfterEveryBatchOfNMessages() {
    Gateway g = new Gateway(config.toBuilder().ackBatchMessages(2).build(), Authenticator.acceptAll(), io.longlink.server.Authorizer.byCredential(),
        m -> false, null, ticker, null);
    ch = new EmbeddedChannel(new ServerConnection(new LoopContext(ImmediateEventExecutor.INSTANCE, g)));
    login("alice");
    ByteBuf batch = Unpooled.buffer();
    for (int i = 1; i <= 5; i++) {
      FrameCodec.encode(new Frame.Data(i, TargetKind.CLIENT, "nobody", "", new byte[0]), batch);
    }
    ch.writeInbound(batch);
    assertThat(sent()).isEqualTo(new Frame.Ack(2));
    assertThat(sent()).isEqualTo(new Frame.Ack(4));
    assertThat(sent()).isEqualTo(new Frame.Ack(5)); // the end of the read batch
    assertThat(sent()).isNull();
  }

  @Test
  void detachedSessionExpiresAfterRetention() {
    open();
    login("alice");
    ch.close();
    assertThat(gateway.sessions().store.detachedCount()).isEqualTo(1);
    ticker.advance(config.sessionRetention().minusMillis(1));
    gateway.directory.expireDetached(ticker.nanoTime());
    assertThat(gateway.sessions().store.detachedCount()).isEqualTo(1);
    ticker.advance(Duration.ofMillis(1));
    gateway.directory.expireDetached(ticker.nanoTime());
    assertThat(gateway.sessions().store.detachedCount()).isZero();
    assertThat(gateway.sessions().store.size()).isZero();
    assertThat(gateway.sessions().store.size()).isZero();
  }

  @Test
  void ackOfUnsentDataIsAnError() {
    open();
    login("alice");
    receive(new Frame.Ack(1));
    assertThat(((Frame.Error) sent()).code()).isEqualTo(ErrorCode.SEQUENCE_GAP);
  }

  @Test
  void closeEndsTheSessionAndReleasesEverything() {
    open();
    login("alice");
    receive(new Frame.Subscribe(1, "news"));
    assertThat(gateway.sessions().topics.topicCount()).isEqualTo(1);
    receive(new Frame.Close(ErrorCode.NORMAL, "bye"));
    assertThat(ch.isOpen()).isFalse();
    assertThat(gateway.sessions().store.size()).isZero();
    assertThat(gateway.sessions().topics.topicCount()).isZero();
    assertThat(sweeper.size()).isZero();
    assertThat(gateway.counters.connections.sum()).isZero();
  }

  @Test
  void clientMayNotForgeTheSender() {
    open();
    login("alice");
    receive(new Frame.Data(1, TargetKind.CLIENT, "bob", "mallory", new byte[0]));
    Frame.Error e = (Frame.Error) sent();
    assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
    assertThat(e.message()).contains("from: \"mallory\"");
  }

  @Test
  void illegalTransitionsAreRefused() {
    assertThat(ConnectionState.HANDSHAKING.canMoveTo(ConnectionState.OPEN)).isTrue();
    assertThat(ConnectionState.OPEN.canMoveTo(ConnectionState.HANDSHAKING)).isFalse();
    assertThat(ConnectionState.CLOSED.canMoveTo(ConnectionState.OPEN)).isFalse();
    assertThat(ConnectionState.CLOSING.canMoveTo(ConnectionState.OPEN)).isFalse();
    for (ConnectionState s : ConnectionState.values()) {
      assertThat(ConnectionState.CLOSED.canMoveTo(s)).isFalse();
    }
  }

  @Test
  void configNamesBadValues() {
    assertThatThrownBy(() -> ServerConfig.builder().heartbeatMisses(0).build())
        .hasMessage("heartbeatMisses: 0 (expected: 1..255)");
    assertThatThrownBy(() -> ServerConfig.builder().port(70000).build()).hasMessage("port: 70000 (expected: 0..65535)");
    assertThatThrownBy(() -> ServerConfig.builder().heartbeatInterval(Duration.ZERO).build())
        .hasMessage("heartbeatInterval: PT0S (expected: > 0)");
    assertThat(ServerConfig.builder().build().sweepInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(ServerConfig.builder().heartbeatInterval(Duration.ofMillis(200)).build().sweepInterval())
        .isEqualTo(Duration.ofMillis(50));
  }
}
