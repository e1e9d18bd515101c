package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.testing.RawClient;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * 100,000 connect/handshake/abrupt-drop cycles over every way a connection ends (FIN, RST, RST in
 * the middle of a frame, a framing error, a handshake that never comes, a limit the server
 * enforces), then: connections, sessions, detached sessions, subscriptions, per-address entries
 * all back to zero, and buffer memory no higher than after a warm-up. Netty's leak detector runs
 * at PARANOID for the whole suite and fails the class on any leak.
 */
class AbruptExitCleanupTest {
  static final int CYCLES = 100_000;
  static final int WORKERS = 4;
  static final Duration BOUND = Duration.ofMinutes(3);

  @Test
  void everyResourceOfADeadConnectionIsReleased() throws Exception {
    ServerConfig config = ServerConfig.builder().port(0).ioThreads(2)
        .sessionRetention(Duration.ofMillis(200)).handshakeTimeout(Duration.ofMillis(300))
        .limits(Limits.defaults().withMaxConnectionsPerAddress(10_000).withMaxSubscriptions(3))
        .build();
    try (LonglinkServer server = LonglinkServer.builder().config(config).build().start()) {
      InetSocketAddress a = server.localAddress();
      runCycles(a, 2_000, 0);
      awaitBaseline(server);
      long warmBuffers = bufferMemory();

      long start = System.nanoTime();
      int done = runCycles(a, CYCLES, 100_000);
      double seconds = (System.nanoTime() - start) / 1e9;
      awaitBaseline(server);
      long buffers = bufferMemory();
      System.out.println(String.format("cleanup: %d cycles in %.1f s; afterwards 0 connections, 0 sessions, 0 topics, "
          + "0 tracked addresses; buffer memory %d KiB (after warm-up %d KiB)", done, seconds, buffers >> 10,
          warmBuffers >> 10));
      assertThat(done).isEqualTo(CYCLES);
      assertThat(buffers).isLessThanOrEqualTo(warmBuffers + (16 << 20));
    }
  }

  static void awaitBaseline(LonglinkServer server) {
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(server.stats().connections()).isZero();
      assertThat(server.stats().sessions()).isZero();
      assertThat(server.stats().detachedSessions()).isZero();
      assertThat(server.stats().topics()).isZero();
      assertThat(server.stats().trackedAddresses()).isZero();
    });
  }

  static long bufferMemory() {
    ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    if (alloc instanceof ByteBufAllocatorMetricProvider p) {
      ByteBufAllocatorMetric m = p.metric();
      return m.usedDirectMemory() + m.usedHeapMemory();
    }
    return 0;
  }

  /** Runs {@code n} cycles on worker threads, each from its own source address; returns how many ran. */
  static int runCycles(InetSocketAddress a, int n, int idBase) throws Exception {
    AtomicInteger next = new AtomicInteger();
    long deadline = System.nanoTime() + BOUND.toNanos();
    ExecutorService pool = Executors.newFixedThreadPool(WORKERS);
    try {
      List<Future<Integer>> results = new ArrayList<>();
      for (int w = 0; w < WORKERS; w++) {
        InetAddress source = InetAddress.getByName("127.0.1." + (10 + w));
        results.add(pool.submit(() -> {
          int mine = 0;
          List<RawClient> silent = new ArrayList<>();
          try {
            for (int i; (i = next.getAndIncrement()) < n && System.nanoTime() < deadline; ) {
              cycle(a, source, idBase + i, silent);
              mine++;
            }
          } finally {
            for (RawClient c : silent) {
              assertThat(c.awaitClosed(Duration.ofSeconds(5))).as("reaped by the handshake timeout").isTrue();
              c.close();
            }
          }
          return mine;
        }));
      }
      int total = 0;
      for (Future<Integer> f : results) {
        total += f.get(BOUND.toSeconds() + 60, TimeUnit.SECONDS);
      }
      return total;
    } finally {
      pool.shutdownNow();
    }
  }

  /** One connection's life, ended in one of six ways. */
  static void cycle(InetSocketAddress a, InetAddress source, int i, List<RawClient> silent) throws IOException {
    RawClient c = RawClient.connect(a, source);
    switch (i % 6) {
      case 0 -> { // logged in, subscribed, FIN
        c.send(Frame.Hello.newSession("c" + i, ""));
        c.readUntil(Frame.Welcome.class);
        c.send(new Frame.Subscribe(1, "topic" + (i % 50)));
        c.readUntil(Frame.Ack.class);
        c.close();
      }
      case 1 -> { // logged in, RST (kill -9, pulled cable)
        c.send(Frame.Hello.newSession("c" + i, ""));
        c.readUntil(Frame.Welcome.class);
        c.abort();
      }
      case 2 -> { // RST in the middle of a frame
        c.send(Frame.Hello.newSession("c" + i, ""));
        c.readUntil(Frame.Welcome.class);
        var buf = Unpooled.buffer();
        FrameCodec.encode(new Frame.Data(1, TargetKind.CLIENT, "c" + (i + 1), "", new byte[500]), buf);
        byte[] half = new byte[buf.readableBytes() / 2];
        buf.readBytes(half);
        buf.release();
        c.sendBytes(half);
        c.abort();
      }
      case 3 -> { // garbage instead of a frame: the server answers ERROR and closes
        c.sendBytes(new byte[] {0, 0, 0, 5, (byte) 0xEE, 1, 2, 3, 4});
        c.awaitClosed(Duration.ofSeconds(5));
        c.close();
      }
      case 4 -> { // the server closes: a fourth subscription breaks the limit of three
        c.send(Frame.Hello.newSession("c" + i, ""));
        c.readUntil(Frame.Welcome.class);
        for (int t = 1; t <= 4; t++) {
          c.send(new Frame.Subscribe(t, "x" + t));
        }
        c.awaitClosed(Duration.ofSeconds(5));
        c.close();
      }
      default -> { // connected, never says HELLO: every 60th is left for the handshake timeout to reap, else RST
        if (i % 60 == 5) {
          silent.add(c); // closed by the server; our end is closed after the run
        } else {
          c.abort();
        }
      }
    }
  }
}
