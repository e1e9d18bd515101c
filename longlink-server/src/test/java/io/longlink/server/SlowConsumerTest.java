package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.testing.RawClient;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A client stops reading while 1 GiB is published to it: the gateway holds at most the socket's
 * watermark plus the session's replay buffer, then (default policy) disconnects it as a slow
 * consumer, or (drop-oldest) keeps it and reports what it dropped with GAP frames; the heap stays
 * flat and another client's round trips stay fast throughout.
 */
class SlowConsumerTest {
  static final int PAYLOAD = 64 * 1024;
  static final int MESSAGES = (1 << 30) / PAYLOAD; // 1 GiB in all

  /** Heap around a flood (after forced GCs), its peak (garbage included), and the bystander's ping p99. */
  record Flood(long heapBefore, long heapAfter, long heapPeak, double pingP99Millis) {}

  /**
   * Publishes 1 GiB to client "slow" (which reads nothing meanwhile, through a 64 KiB receive
   * buffer), message i (from 1) carrying i in its first 4 bytes, while {@code fast} pings the
   * gateway every 256 messages.
   */
  static Flood flood(LonglinkServer server, RawClient slow, RawClient fast) throws java.io.IOException {
    slow.socket().setReceiveBufferSize(64 * 1024);
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    memory.gc();
    long before = memory.getHeapMemoryUsage().getUsed();
    long[] rttNanos = new long[MESSAGES / 256];
    long peakHeap = 0;
    for (int i = 1; i <= MESSAGES; i++) {
      byte[] payload = new byte[PAYLOAD]; // distinct arrays: kept ones would add up to 1 GiB
      ByteBuffer.wrap(payload).putInt(i);
      server.publishToClient("slow", payload);
      if (i % 256 == 0) {
        long t0 = System.nanoTime();
        fast.send(new Frame.Ping(i));
        fast.readUntil(Frame.Pong.class);
        rttNanos[i / 256 - 1] = System.nanoTime() - t0;
        peakHeap = Math.max(peakHeap, memory.getHeapMemoryUsage().getUsed());
      }
    }
    memory.gc();
    long after = memory.getHeapMemoryUsage().getUsed();
    Arrays.sort(rttNanos);
    return new Flood(before, after, peakHeap, rttNanos[(int) (rttNanos.length * 0.99)] / 1e6);
  }

  @Test
  void aClientThatStopsReadingCannotMakeTheGatewayBufferWithoutBound() throws Exception {
    try (LonglinkServer server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build().start();
        RawClient slow = RawClient.login(server.localAddress(), "slow");
        RawClient fast = RawClient.login(server.localAddress(), "fast")) {
      Flood flood = flood(server, slow, fast);
      long before = flood.heapBefore();
      long after = flood.heapAfter();
      long peakHeap = flood.heapPeak();
      double p99 = flood.pingP99Millis();
      // The gateway cut the slow one (its ERROR may sit behind data the client never read).
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.stats().connections() == 1);
      String seen = "no ERROR frame (cut while its socket was full)";
      try {
        while (true) {
          if (slow.read() instanceof Frame.Error err) {
            seen = err.code().name();
            break;
          }
        }
      } catch (java.io.IOException closed) {
        // end of stream after what was in flight
      }
      System.out.println(String.format("slow-consumer: published %d MiB to a client that did not read; heap before %d "
              + "MiB, after %d MiB, peak while publishing %d MiB; other client's ping p99 %.2f ms; slow client got %s",
          (long) MESSAGES * PAYLOAD >> 20, before >> 20, after >> 20, peakHeap >> 20, p99, seen));
      assertThat(seen).isIn(ErrorCode.SLOW_CONSUMER.name(), "no ERROR frame (cut while its socket was full)");
      assertThat(server.stats().limitHits(Limits.Limit.PENDING_ACKS)).isEqualTo(1);
      assertThat(after - before).isLessThan(32L << 20); // nothing of the 1 GiB stays
      assertThat(p99).isLessThan(250); // generous for a shared 2-core machine; typical is ~1 ms
    }
  }

  @Test
  void dropOldestKeepsTheSlowClientAndReportsEveryDroppedMessageAsAGap() throws Exception {
    ServerConfig config = ServerConfig.builder().port(0).slowConsumerPolicy(ServerConfig.SlowConsumerPolicy.DROP_OLDEST)
        .build();
    try (LonglinkServer server = LonglinkServer.builder().config(config).build().start();
        RawClient slow = RawClient.login(server.localAddress(), "slow");
        RawClient fast = RawClient.login(server.localAddress(), "fast")) {
      Flood flood = flood(server, slow, fast);
      long before = flood.heapBefore();
      long after = flood.heapAfter();
      long peakHeap = flood.heapPeak();
      double p99 = flood.pingP99Millis();
      assertThat(server.stats().connections()).as("the slow client is kept").isEqualTo(2);
      assertThat(server.stats().limitHits(Limits.Limit.PENDING_ACKS)).isZero();

      // Now it reads everything: messages and gaps tile 1..MESSAGES exactly, in order.
      long expected = 1;
      long delivered = 0;
      long reportedLost = 0;
      int gaps = 0;
      while (expected <= MESSAGES) {
        Frame f = slow.read();
        if (f instanceof Frame.Data d) {
          assertThat(d.seq()).isEqualTo(expected);
          assertThat(ByteBuffer.wrap(d.payload()).getInt()).as("payload of seq " + d.seq()).isEqualTo((int) d.seq());
          delivered++;
          expected++;
        } else if (f instanceof Frame.Gap g) {
          assertThat(g.fromSeq()).isEqualTo(expected);
          reportedLost += g.count();
          gaps++;
          expected = g.toSeq() + 1;
        }
      }
      long fitInBuffer = config.replayBufferBytes() / (PAYLOAD + ServerConfig.MESSAGE_OVERHEAD_BYTES + 2 * "slow".length());
      System.out.println(String.format("slow-consumer drop-oldest: published %d MiB to a client that did not read; heap "
              + "before %d MiB, after %d MiB, peak %d MiB; other client's ping p99 %.2f ms; slow client kept, then got "
              + "%d messages + %d GAPs covering %d dropped (server counted %d dropped)",
          (long) MESSAGES * PAYLOAD >> 20, before >> 20, after >> 20, peakHeap >> 20, p99, delivered, gaps,
          reportedLost, server.stats().droppedMessages()));
      assertThat(delivered + reportedLost).isEqualTo(MESSAGES);
      assertThat(delivered).as("at least the newest buffer-full").isGreaterThanOrEqualTo(fitInBuffer);
      // Dropped after being written (still delivered) or before (reported by a GAP): the server saw both.
      assertThat(server.stats().droppedMessages()).isBetween(reportedLost, reportedLost + delivered);
      assertThat(after - before).isLessThan(32L << 20);
      assertThat(p99).isLessThan(250);
    }
  }

  @Test
  void aResumeAfterDropsStartsWithTheGapAndKeepsTheSession() throws Exception {
    ServerConfig config = ServerConfig.builder().port(0).replayBufferMessages(4)
        .slowConsumerPolicy(ServerConfig.SlowConsumerPolicy.DROP_OLDEST).build();
    try (LonglinkServer server = LonglinkServer.builder().config(config).build().start()) {
      RawClient first = RawClient.connect(server.localAddress());
      first.send(new Frame.Hello(Frame.VERSION, "away", "", "", 0, 1));
      String sessionId = first.readUntil(Frame.Welcome.class).sessionId();
      first.abort();
      org.awaitility.Awaitility.await().until(() -> server.stats().detachedSessions() == 1);
      for (int i = 1; i <= 10; i++) {
        server.publishToClient("away", new byte[] {(byte) i});
      }
      try (RawClient back = RawClient.connect(server.localAddress())) {
        back.send(new Frame.Hello(Frame.VERSION, "away", "", sessionId, 0, 2));
        Frame.Welcome w = back.readUntil(Frame.Welcome.class);
        assertThat(w.sessionStatus()).isEqualTo(io.longlink.protocol.SessionStatus.RESUMED);
        assertThat(w.sessionId()).isEqualTo(sessionId);
        assertThat(back.read()).isEqualTo(new Frame.Gap(1, 6));
        for (int seq = 7; seq <= 10; seq++) {
          Frame.Data d = back.readUntil(Frame.Data.class);
          assertThat(d.seq()).isEqualTo(seq);
          assertThat(d.payload()).containsExactly((byte) seq);
        }
        assertThat(server.stats().droppedMessages()).isEqualTo(6);
        back.send(new Frame.Ack(10)); // an ACK may cover what the GAP skipped
        server.publishToClient("away", new byte[] {11});
        assertThat(back.readUntil(Frame.Data.class).seq()).isEqualTo(11);
        assertThat(server.stats().connections()).isEqualTo(1);
      }
    }
  }
}
