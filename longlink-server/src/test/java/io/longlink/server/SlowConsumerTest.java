package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.testing.RawClient;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A client stops reading while 1 GiB is published to it: the gateway holds at most the socket's
 * watermark plus the session's replay buffer, then disconnects it as a slow consumer; the heap stays
 * flat and another client's round trips stay fast throughout.
 */
class SlowConsumerTest {
  static final int PAYLOAD = 64 * 1024;
  static final int MESSAGES = (1 << 30) / PAYLOAD; // 1 GiB in all

  @Test
  void aClientThatStopsReadingCannotMakeTheGatewayBufferWithoutBound() throws Exception {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    try (LonglinkServer server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build().start();
        RawClient slow = RawClient.login(server.localAddress(), "slow");
        RawClient fast = RawClient.login(server.localAddress(), "fast")) {
      slow.socket().setReceiveBufferSize(64 * 1024);
      memory.gc();
      long before = memory.getHeapMemoryUsage().getUsed();
      long[] rttNanos = new long[MESSAGES / 256];
      long peakHeap = 0;
      for (int i = 0; i < MESSAGES; i++) {
        server.publishToClient("slow", new byte[PAYLOAD]); // distinct arrays: kept ones would add up to 1 GiB
        if (i % 256 == 0) {
          long t0 = System.nanoTime();
          fast.send(new Frame.Ping(i + 1));
          fast.readUntil(Frame.Pong.class);
          rttNanos[i / 256] = System.nanoTime() - t0;
          peakHeap = Math.max(peakHeap, memory.getHeapMemoryUsage().getUsed());
        }
      }
      memory.gc();
      long after = memory.getHeapMemoryUsage().getUsed();
      Arrays.sort(rttNanos);
      double p99 = rttNanos[(int) (rttNanos.length * 0.99)] / 1e6;
      // The gateway cut the slow one (its ERROR may sit behind data the client never read).
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.connectionCount() == 1);
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
      assertThat(after - before).isLessThan(32L << 20); // nothing of the 1 GiB stays
      assertThat(p99).isLessThan(250); // generous for a shared 2-core machine; typical is ~1 ms
    }
  }
}
