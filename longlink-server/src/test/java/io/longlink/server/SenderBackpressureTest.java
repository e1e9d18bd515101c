package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.Frame;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.testing.RawClient;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A sender faster than its receiver is held back instead of overflowing the receiver's replay
 * buffer: its connection stops reading while the receiver has more than half its buffer
 * unacknowledged, and goes on once the receiver caught up. Nobody is cut, nothing is lost.
 */
class SenderBackpressureTest {

  @Test
  void aSenderWaitsForASlowReceiverInsteadOfOverflowingIt() throws Exception {
    int messages = 3_000;
    ServerConfig config = ServerConfig.builder().port(0).replayBufferMessages(64).build();
    try (LonglinkServer server = LonglinkServer.builder().config(config).build().start();
        RawClient slow = RawClient.login(server.localAddress(), "slow");
        RawClient fast = RawClient.login(server.localAddress(), "fast")) {
      CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
        try {
          for (int i = 1; i <= messages; i++) {
            byte[] payload = ByteBuffer.allocate(4).putInt(i).array();
            fast.send(new Frame.Data(i, TargetKind.CLIENT, "slow", "", payload));
          }
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      // The receiver reads nothing yet: far more than its 64-message buffer is on the way.
      await().atMost(Duration.ofSeconds(10)).until(() -> server.stats().senderPauses() >= 1);
      assertThat(server.stats().connections()).isEqualTo(2);
      assertThat(server.stats().limitHits(Limits.Limit.PENDING_ACKS)).isZero();

      long expected = 1;
      while (expected <= messages) {
        Frame f;
        try {
          f = slow.read();
        } catch (java.net.SocketTimeoutException e) {
          throw new AssertionError("stalled at " + expected + ", pauses " + server.stats().senderPauses() + ", slow "
              + server.sessions("slow", 1) + ", fast " + server.sessions("fast", 1), e);
        }
        if (f instanceof Frame.Data d) {
          assertThat(d.seq()).isEqualTo(expected);
          assertThat(ByteBuffer.wrap(d.payload()).getInt()).isEqualTo((int) expected);
          if (expected % 16 == 0 || expected == messages) {
            slow.send(new Frame.Ack(expected));
          }
          expected++;
        }
      }
      sending.get(10, TimeUnit.SECONDS);
      fast.readAckOf(messages); // every message acknowledged to its sender
      assertThat(server.stats().limitHits(Limits.Limit.PENDING_ACKS)).isZero();
      assertThat(server.stats().connections()).isEqualTo(2);
      assertThat(server.stats().droppedMessages()).isZero();
    }
  }
}
