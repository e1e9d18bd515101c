package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.longlink.protocol.Frame;
import io.longlink.protocol.testing.RawClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Threads asking the kernel for short scheduler slices, read back from what the kernel reports
 * ({@code se.slice} in {@code /proc/.../sched}), on a kernel that has per-thread slices (6.12+).
 */
class SchedulerSliceTest {
  @BeforeAll
  static void kernelWithPerThreadSlices() {
    String[] v = System.getProperty("os.version", "0.0").split("[.-]");
    int major = Integer.parseInt(v[0]);
    int minor = v.length > 1 ? Integer.parseInt(v[1]) : 0;
    assumeTrue(System.getProperty("os.name").startsWith("Linux") && (major > 6 || major == 6 && minor >= 12),
        "per-thread scheduler slices need Linux 6.12+, this is " + System.getProperty("os.version"));
  }

  /** The calling thread's slice as the kernel reports it, in ns. */
  static long sliceOf(Path sched) throws IOException {
    for (String line : Files.readAllLines(sched)) {
      if (line.startsWith("se.slice")) {
        return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    throw new AssertionError("no se.slice in " + sched);
  }

  @Test
  void aThreadGetsTheSliceItAsksForAndOthersKeepTheirs() throws Exception {
    AtomicBoolean took = new AtomicBoolean();
    AtomicLong slice = new AtomicLong();
    Thread t = new Thread(() -> {
      took.set(SchedulerSlice.request(Duration.ofNanos(250_000)));
      try {
        slice.set(sliceOf(Path.of("/proc/thread-self/sched")));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    t.start();
    t.join();
    assertThat(took).isTrue();
    assertThat(slice.get()).isEqualTo(250_000);
    assertThat(sliceOf(Path.of("/proc/thread-self/sched"))).as("the test's own thread").isNotEqualTo(250_000);
    assertThat(SchedulerSlice.supported()).isTrue();
  }

  @Test
  void slicesOutsideWhatTheKernelTakesAreRefusedByName() {
    assertThatThrownBy(() -> SchedulerSlice.request(Duration.ofNanos(50_000)))
        .hasMessageContaining("slice: PT0.00005S (expected: PT0.0001S..PT0.1S)");
    assertThatThrownBy(() -> SchedulerSlice.threads(Thread::new, Duration.ofSeconds(1)))
        .hasMessageContaining("slice: PT1S");
    assertThatThrownBy(() -> ServerConfig.builder().ioThreadSlice(Duration.ofNanos(99_999)).build())
        .hasMessageContaining("ioThreadSlice").hasMessageContaining("0 or 100us..100ms");
    assertThat(ServerConfig.builder().ioThreadSlice(Duration.ZERO).build().ioThreadSlice()).isZero();
  }

  @Test
  void theGatewaysIoThreadsRunWithTheConfiguredSlice() throws Exception {
    assertThat(ioThreadSlices(Duration.ofNanos(300_000))).isNotEmpty().allSatisfy((tid, s) -> assertThat(s).isEqualTo(300_000));
    assertThat(ioThreadSlices(Duration.ZERO)).as("zero: the kernel's default")
        .isNotEmpty().allSatisfy((tid, s) -> assertThat(s).isNotEqualTo(300_000));
  }

  /** This JVM's gateway I/O threads (by thread id) and their slices. */
  private static Map<String, Long> ioThreads() throws IOException {
    Map<String, Long> slices = new TreeMap<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          if (Files.readString(task.resolve("comm")).strip().startsWith("longlink-io-")) {
            slices.put(task.getFileName().toString(), sliceOf(task.resolve("sched")));
          }
        } catch (IOException ended) {
          // a thread of a gateway another test closed, gone while listed ("No such process")
        }
      }
    }
    return slices;
  }

  /** Starts a gateway with {@code slice}, wakes both of its I/O threads, and reads their slices. */
  private static Map<String, Long> ioThreadSlices(Duration slice) throws IOException {
    Map<String, Long> before = ioThreads(); // of gateways of other tests in this JVM, if still ending
    ServerConfig config = ServerConfig.builder().port(0).ioThreads(2).ioThreadSlice(slice).build();
    try (LonglinkServer server = LonglinkServer.builder().config(config).build().start()) {
      List<RawClient> clients = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) { // connections go to the loops in turn: both threads start
          RawClient c = RawClient.connect(server.localAddress());
          clients.add(c);
          c.send(Frame.Hello.newSession("slice-" + i, ""));
          c.readUntil(Frame.Welcome.class);
        }
        Map<String, Long> slices = ioThreads();
        slices.keySet().removeAll(before.keySet());
        assertThat(slices).as("the two I/O threads").hasSize(2);
        return slices;
      } finally {
        for (RawClient c : clients) {
          c.close();
        }
      }
    }
  }
}
