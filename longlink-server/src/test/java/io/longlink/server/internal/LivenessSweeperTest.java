package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.FrameDecoder;
import io.longlink.protocol.testing.FakeTicker;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import io.longlink.server.ServerConfig;
import io.longlink.server.Authenticator;
import io.longlink.server.MessageHandler;

/** A sweep over many connections runs in turns of the loop (fake clock, embedded loop, three connections per turn). */
class LivenessSweeperTest {
  final FakeTicker ticker = new FakeTicker();
  final ServerConfig config = ServerConfig.builder().handshakeTimeout(Duration.ofSeconds(5)).build();
  final Gateway gateway = new Gateway(config, Authenticator.acceptAll(), io.longlink.server.Authorizer.byCredential(), MessageHandler.routeAll(), null, ticker, null);
  final EmbeddedChannel loopOwner = new EmbeddedChannel();
  final LivenessSweeper<ServerConnection> sweeper = new LivenessSweeper<>(loopOwner.eventLoop(), config, 3);
  final LoopContext loop = new LoopContext(gateway, sweeper, loopOwner.eventLoop());
  final List<EmbeddedChannel> channels = new ArrayList<>();

  @AfterEach
  void release() {
    channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    loopOwner.finishAndReleaseAll();
  }

  /** {@code n} connections that never say HELLO. */
  private void open(int n) {
    for (int i = 0; i < n; i++) {
      channels.add(new EmbeddedChannel(new ServerConnection(loop)));
    }
  }

  @Test
  void aPassOverMoreThanATurnFinishesInLaterTurnsAndExpiresEveryone() {
    open(8);
    ticker.advance(Duration.ofSeconds(5));

    assertThat(sweeper.sweep(ticker.nanoTime())).as("first turn").isEqualTo(3);
    assertThat(sweeper.size()).isEqualTo(5);
    assertThat(sweeper.sweep(ticker.nanoTime())).as("a pass under way is not started again").isZero();
    assertThat(sweeper.size()).isEqualTo(5);
    assertThat(sweeper.livenessTotals().windowSweeps()).as("not finished").isZero();

    loopOwner.runScheduledPendingTasks(); // the second turn, after the loop's reads
    assertThat(sweeper.size()).isEqualTo(2);
    loopOwner.runScheduledPendingTasks();
    assertThat(sweeper.size()).isZero();
    assertThat(sweeper.livenessTotals().windowSweeps()).isEqualTo(1);
    for (EmbeddedChannel ch : channels) {
      assertThat(firstFrame(ch)).isEqualTo(new Frame.Error(ErrorCode.HANDSHAKE_TIMEOUT, "no HELLO within 5000 ms"));
      assertThat(ch.isOpen()).isFalse();
    }
  }

  @Test
  void connectionsGoneOrAddedBetweenTurnsAreNeitherSkippedNorBreakThePass() {
    open(7);
    ticker.advance(Duration.ofSeconds(5));
    assertThat(sweeper.sweep(ticker.nanoTime())).isEqualTo(3);
    // Two not yet visited leave on their own; a new one arrives with a fresh deadline.
    channels.get(0).close();
    channels.get(1).close();
    open(1);
    assertThat(sweeper.size()).isEqualTo(3);

    loopOwner.runScheduledPendingTasks();
    assertThat(sweeper.size()).as("the two left were expired, the new one kept").isEqualTo(1);
    assertThat(channels.get(2).isOpen()).isFalse();
    assertThat(channels.get(3).isOpen()).isFalse();
    assertThat(channels.get(7).isOpen()).isTrue();

    ticker.advance(Duration.ofSeconds(5)); // the next pass starts anew
    assertThat(sweeper.sweep(ticker.nanoTime())).isEqualTo(1);
    assertThat(sweeper.size()).isZero();
  }

  private static Frame firstFrame(EmbeddedChannel ch) {
    ByteBuf buf = ch.readOutbound();
    try {
      return FrameDecoder.decodeOne(buf, FrameCodec.DEFAULT_MAX_FRAME_SIZE);
    } finally {
      buf.release();
    }
  }
}
