package io.longlink.bench;

import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.ClientListener;
import io.longlink.client.ReceivedMessage;
import io.longlink.protocol.Frame;
import io.longlink.protocol.SessionStatus;
import io.longlink.server.Limits;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import io.longlink.cli.GatewayOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code longlink bench}: measurements of longlink's own costs, in-process on loopback. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Benchmarks: idle connections against a running gateway or a peer (connections, "
        + "bare-server), a million in-memory sessions, reliable flow (throughput, fanout), a crash-restart storm, "
        + "resume and ack costs. Results: one line, JSON with --out, an HTML plot with --plot where offered.",
    subcommands = {BenchCommand.Resume.class, BenchCommand.Acks.class, ConnectionsBench.class, SessionsBench.class,
        BareServer.class, ThroughputBench.class, FanoutBench.class, UserBench.class, StormBench.class})
public final class BenchCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The main class of the command that runs {@code longlink server}; set by the application that wires the benches in. */
  private static volatile String serverMainClass;

  /**
   * Where {@code bench storm} finds a real gateway to start and kill: the main class of the command
   * whose {@code server} subcommand runs one (the bench module cannot know the application's).
   */
  public static void serverMainClass(String className) {
    serverMainClass = java.util.Objects.requireNonNull(className, "className");
  }

  static String serverMainClass() {
    String c = serverMainClass;
    if (c == null) {
      throw new IllegalStateException("bench storm: no gateway command wired in (run it as ./longlink bench storm)");
    }
    return c;
  }

  static LonglinkServer gateway(ServerConfig.Builder config) {
    // The benches measure the gateway itself: no per-client rate bounds in the way.
    return LonglinkServer.builder().config(config.host("127.0.0.1").port(0).limits(Limits.none()).build()).build().start();
  }

  static void write(Path out, String json, PrintWriter console) throws IOException {
    if (out != null) {
      Files.writeString(out, json + "\n");
      console.println("wrote " + out);
    }
  }

  static double percentile(long[] sortedNanos, double p) {
    int i = (int) Math.min(sortedNanos.length - 1, Math.round(p * (sortedNanos.length - 1)));
    return sortedNanos[i] / 1e6;
  }

  /** Time from TCP connect to the first (and last) replayed message, with N messages pending. */
  @Command(name = "resume", mixinStandardHelpOptions = true,
      description = "Resume cost: a client drops its connection while N messages for it are buffered, then "
          + "reconnects and resumes. Reports connect-to-first-replayed and connect-to-all-replayed times.")
  static final class Resume implements java.util.concurrent.Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--pending", defaultValue = "1000", description = "Messages buffered while away (default: ${DEFAULT-VALUE}).")
    int pending;

    @Mixin GatewayOptions gateway;

    @Option(names = "--rounds", defaultValue = "30", description = "Measured rounds (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--payload", defaultValue = "100", description = "Payload bytes (default: ${DEFAULT-VALUE}).")
    int payload;

    @Option(names = "--out", description = "Write the result as JSON to this file.")
    Path out;

    @Override
    public Integer call() throws Exception {
      PrintWriter console = spec.commandLine().getOut();
      long[] first = new long[rounds];
      long[] all = new long[rounds];
      try (LonglinkServer server = gateway(gateway.applyTo(ServerConfig.builder()));
          LonglinkClient alice = LonglinkClient.builder().endpoint(server.localAddress()).clientId("alice")
              .maxPending(Math.max(pending, 1), 1L << 30).build()) {
        alice.connect().get(10, TimeUnit.SECONDS);
        byte[] body = new byte[payload];
        int warmup = Math.min(5, rounds);
        for (int r = -warmup; r < rounds; r++) {
          BenchPeer bob = new BenchPeer(server.localAddress());
          bob.send(Frame.Hello.newSession("bob", ""));
          Frame.Welcome w = (Frame.Welcome) bob.read();
          bob.drop();
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
          while (server.stats().detachedSessions() == 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
          }
          List<CompletableFuture<Void>> acks = new ArrayList<>(pending);
          for (int i = 0; i < pending; i++) {
            acks.add(alice.send(Destination.client("bob"), body));
          }
          CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
          long t0 = System.nanoTime();
          try (BenchPeer again = new BenchPeer(server.localAddress())) {
            again.send(new Frame.Hello(1, "bob", "", w.sessionId(), 0, System.currentTimeMillis()));
            Frame.Welcome resumed = (Frame.Welcome) again.read();
            if (resumed.sessionStatus() != SessionStatus.RESUMED) {
              throw new IllegalStateException("expected RESUMED, got " + resumed);
            }
            Frame f = again.read();
            long t1 = System.nanoTime();
            int got = f instanceof Frame.Data ? 1 : 0;
            while (got < pending) {
              if (again.read() instanceof Frame.Data) {
                got++;
              }
            }
            long t2 = System.nanoTime();
            again.send(new Frame.Close(io.longlink.protocol.ErrorCode.NORMAL, "bench round done"));
            if (r >= 0) {
              first[r] = t1 - t0;
              all[r] = t2 - t0;
            }
          }
        }
      }
      Arrays.sort(first);
      Arrays.sort(all);
      String line = String.format(Locale.ROOT,
          "resume with %d pending (%d B): connect->first replayed p50 %.3f ms p90 %.3f ms; connect->all replayed "
              + "p50 %.3f ms p90 %.3f ms (%d rounds)", pending, payload, percentile(first, 0.5), percentile(first, 0.9),
          percentile(all, 0.5), percentile(all, 0.9), rounds);
      console.println(line);
      write(out, String.format(Locale.ROOT, "{\"bench\":\"resume\",\"pending\":%d,\"payload_bytes\":%d,\"rounds\":%d,"
              + "\"first_replayed_ms_p50\":%.3f,\"first_replayed_ms_p90\":%.3f,\"all_replayed_ms_p50\":%.3f,"
              + "\"all_replayed_ms_p90\":%.3f}", pending, payload, rounds, percentile(first, 0.5),
          percentile(first, 0.9), percentile(all, 0.5), percentile(all, 0.9)), console);
      return 0;
    }
  }

  /** One-to-one throughput with acks batched (the default) and with an ack for every message. */
  @Command(name = "acks", mixinStandardHelpOptions = true,
      description = "Ack overhead: one-to-one reliable throughput with acks batched (default: up to 64 per "
          + "ack, one per socket read) versus one ack per message.")
  static final class Acks implements java.util.concurrent.Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--messages", defaultValue = "200000", description = "Messages per run (default: ${DEFAULT-VALUE}).")
    int messages;

    @Option(names = "--payload", defaultValue = "100", description = "Payload bytes (default: ${DEFAULT-VALUE}).")
    int payload;

    @Option(names = "--window", defaultValue = "5000", description = "Unacknowledged messages in flight (default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--out", description = "Write the result as JSON to this file.")
    Path out;

    @Override
    public Integer call() throws Exception {
      PrintWriter console = spec.commandLine().getOut();
      run(64, Math.min(messages, 20_000)); // warm-up
      double batched = run(64, messages);
      double single = run(1, messages);
      String line = String.format(Locale.ROOT, "one-to-one, %d x %d B: acks batched %.0f msg/s, ack per message %.0f msg/s "
          + "(batched is %.2fx)", messages, payload, batched, single, batched / single);
      console.println(line);
      write(out, String.format(Locale.ROOT, "{\"bench\":\"acks\",\"messages\":%d,\"payload_bytes\":%d,"
          + "\"batched_msgs_per_s\":%.0f,\"per_message_msgs_per_s\":%.0f}", messages, payload, batched, single), console);
      return 0;
    }

    /** Messages per second from alice's first send to bob's last delivery. */
    private double run(int ackEvery, int n) throws Exception {
      CountDownLatch received = new CountDownLatch(n);
      AtomicLong count = new AtomicLong();
      try (LonglinkServer server = gateway(ServerConfig.builder().ackBatchMessages(ackEvery)
              .replayBufferMessages(Math.max(n, 1024)).replayBufferBytes(1L << 30));
          LonglinkClient bob = LonglinkClient.builder().endpoint(server.localAddress()).clientId("bob")
              .ackBatch(ackEvery, Duration.ZERO)
              .listener(new ClientListener() {
                @Override
                public void onMessage(ReceivedMessage m) {
                  count.incrementAndGet();
                  received.countDown();
                }
              }).build();
          LonglinkClient alice = LonglinkClient.builder().endpoint(server.localAddress()).clientId("alice")
              .maxPending(window, 1L << 30)
              .overflowPolicy(LonglinkClient.OverflowPolicy.BLOCK, Duration.ofSeconds(60)).build()) {
        bob.connect().get(10, TimeUnit.SECONDS);
        alice.connect().get(10, TimeUnit.SECONDS);
        byte[] body = new byte[payload];
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          alice.send(Destination.client("bob"), body);
        }
        if (!received.await(120, TimeUnit.SECONDS)) {
          throw new IllegalStateException("only " + count.get() + " of " + n + " delivered in 120 s");
        }
        return n / ((System.nanoTime() - t0) / 1e9);
      }
    }
  }
}
