package io.longlink.bench;

import io.longlink.client.ClientListener;
import io.longlink.client.ClientState;
import io.longlink.client.LonglinkClient;
import io.longlink.client.SessionLostEvent;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code longlink bench storm}: N SDK clients are connected to a gateway in a child process; each
 * sends a few messages to the next, and as soon as the gateway has acknowledged them the gateway is
 * killed ({@code kill -9}) or drained (SIGTERM: GOAWAYs spread over a window, buffered messages
 * delivered first) and started again on the same port. Measures how the clients come back: time
 * until all are connected again, the reconnect-rate curve, the kernel's listen-queue drops
 * meanwhile, the sessions reported lost (all of them: a single node keeps none across a restart),
 * and the messages lost (acknowledged to their sender, never delivered): 0 for a drain.
 *
 * <p>With {@code --redis}, two cluster nodes run in child processes; the clients are on the first
 * (the second is their failover endpoint), which is killed or drained and not restarted: the clients
 * resume their sessions on the second node. Then no session may be lost and no message either, for
 * a kill as for a drain.
 */
@Command(name = "storm", mixinStandardHelpOptions = true,
    description = "Reconnect storm: N SDK clients, the gateway (a child process) is killed with kill -9 and "
        + "restarted on the same port (or, with --mode DRAIN, drained); reports time until all are back, the "
        + "reconnect-rate curve, listen-queue drops, sessions lost and messages lost.")
final class StormBench implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--clients", defaultValue = "2000", description = "SDK clients (default: ${DEFAULT-VALUE}).")
  int clients;

  /** How the gateway goes away. */
  enum Mode {
    KILL,
    DRAIN
  }

  @Option(names = "--mode", defaultValue = "KILL",
      description = "KILL (kill -9) or DRAIN (SIGTERM: graceful drain) (default: ${DEFAULT-VALUE}).")
  Mode mode;

  @Option(names = "--messages", defaultValue = "5",
      description = "Messages each client sends to the next just before the storm (default: ${DEFAULT-VALUE}).")
  int messages;

  @Option(names = "--drain-spread", defaultValue = "5000",
      description = "DRAIN: reconnect delays are spread over this many ms (default: ${DEFAULT-VALUE}).")
  int drainSpreadMs;

  @Option(names = "--redis", description = "Cluster mode: two nodes sharing sessions through this Redis "
      + "(redis://HOST:PORT); the clients resume on the second when the first goes.")
  String redis;

  @Option(names = "--out", description = "Write the result as JSON to this file.")
  Path out;

  @Option(names = "--plot", description = "Write the reconnect curve as a self-contained HTML page.")
  Path plot;

  private final AtomicInteger connected = new AtomicInteger();
  /** Clients that connected again after the storm began (each counted once; see backAtNanos). */
  private final AtomicInteger returned = new AtomicInteger();
  private final AtomicLong sessionsLost = new AtomicLong();
  private final AtomicLong received = new AtomicLong();
  private volatile long restartedAt;
  /** When the node was killed or told to drain: a client connected after this has come back. */
  private volatile long stormAt;
  private long[] backAtNanos;

  @Override
  public Integer call() throws Exception {
    PrintWriter console = spec.commandLine().getOut();
    if (clients < 1 || clients > 15_000) {
      throw new IllegalArgumentException("--clients: " + clients + " (expected: 1..15000, one process's open files)");
    }
    int port = freePort();
    Process gateway = startGateway(port, drainSpreadMs, redis, "storm-1");
    int survivorPort = redis == null ? 0 : freePort();
    Process survivor = redis == null ? null : startGateway(survivorPort, drainSpreadMs, redis, "storm-2");
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    List<LonglinkClient> all = new ArrayList<>();
    backAtNanos = new long[clients];
    try {
      List<CompletableFuture<Void>> logins = new ArrayList<>();
      for (int i = 0; i < clients; i++) {
        int idx = i;
        LonglinkClient.Builder b = LonglinkClient.builder().endpoint("127.0.0.1", port);
        if (survivor != null) {
          b.endpoint("127.0.0.1", survivorPort);
        }
        LonglinkClient c = b.clientId("storm-" + i)
            .eventLoopGroup(group).listener(new ClientListener() {
              @Override
              public void onStateChanged(ClientState previous, ClientState current, Throwable cause) {
                if (current == ClientState.CONNECTED) {
                  connected.incrementAndGet();
                  if (stormAt != 0 && backAtNanos[idx] == 0) {
                    backAtNanos[idx] = System.nanoTime();
                    returned.incrementAndGet();
                  }
                } else if (previous == ClientState.CONNECTED) {
                  connected.decrementAndGet();
                }
              }

              @Override
              public void onSessionLost(SessionLostEvent event) {
                sessionsLost.incrementAndGet();
              }

              @Override
              public void onMessage(io.longlink.client.ReceivedMessage m) {
                received.incrementAndGet();
              }
            }).build();
        all.add(c);
        logins.add(c.connect());
      }
      CompletableFuture.allOf(logins.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
      // Messages in flight when the storm hits: each acknowledged by the gateway (it took responsibility).
      List<CompletableFuture<Void>> sends = new ArrayList<>();
      for (int i = 0; i < clients; i++) {
        for (int k = 0; k < messages; k++) {
          sends.add(all.get(i).send(io.longlink.client.Destination.client("storm-" + ((i + 1) % clients)),
              new byte[] {(byte) k}));
        }
      }
      CompletableFuture.allOf(sends.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
      long sent = sends.size();
      console.println(String.format(Locale.ROOT, "%,d clients connected, %,d messages acknowledged; %s", connected.get(),
          sent, mode == Mode.KILL ? "killing the gateway (kill -9)" : "draining the gateway (SIGTERM)"));
      long drops0 = listenDrops();
      long goingAt = System.nanoTime();
      stormAt = goingAt;
      if (survivor != null) {
        restartedAt = goingAt; // a drain moves clients before the node exits: count them from the start
      }
      if (mode == Mode.KILL) {
        gateway.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      } else {
        gateway.destroy(); // SIGTERM: the child drains, then exits
        if (!gateway.waitFor(60, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the gateway did not finish its drain within 60 s");
        }
      }
      long killedAt = System.nanoTime();
      if (survivor == null) {
        awaitCondition(() -> connected.get() == 0, 30);
        gateway = startGateway(port, drainSpreadMs, null, "");
        restartedAt = System.nanoTime();
        console.println(String.format(Locale.ROOT, "gateway back %.0f ms after it went; waiting for the clients",
            (restartedAt - killedAt) / 1e6));
      } else {
        console.println("first node gone; the clients resume on the second");
      }
      List<double[]> curve = new ArrayList<>();
      long deadline = restartedAt + TimeUnit.SECONDS.toNanos(180);
      // Until every client has come back (connected again after it went): with a second node to
      // resume on, some are back before others have noticed the first one went, so the count of
      // connected clients alone can read "all" before anyone has left.
      while (returned.get() < clients && System.nanoTime() < deadline) {
        curve.add(new double[] {(System.nanoTime() - restartedAt) / 1e9, connected.get()});
        TimeUnit.MILLISECONDS.sleep(100);
      }
      curve.add(new double[] {(System.nanoTime() - restartedAt) / 1e9, connected.get()});
      long drops = listenDrops() - drops0;
      long[] back = Arrays.stream(backAtNanos).filter(t -> t != 0).map(t -> Math.max(0, t - restartedAt)).sorted().toArray();
      int returned = back.length;
      long lost = sent - received.get();
      String line = String.format(Locale.ROOT, "storm (%s%s): %,d of %,d clients back; after the %s p10 %.0f ms, "
              + "p50 %.0f ms, p90 %.0f ms, all %.0f ms; peak %.0f reconnects/s; listen-queue drops %d; sessions lost %d; "
              + "messages acknowledged %d, delivered %d, lost %d", mode.name().toLowerCase(Locale.ROOT),
          survivor == null ? "" : ", cluster: resumed on the other node", returned,
          clients, survivor == null ? "restart" : mode == Mode.KILL ? "kill" : "drain began", pct(back, 0.1),
          pct(back, 0.5), pct(back, 0.9), pct(back, 1.0), peakRate(curve), drops,
          sessionsLost.get(), sent, received.get(), lost);
      console.println(line);
      BenchCommand.write(out, String.format(Locale.ROOT, "{\"bench\":\"storm\",\"mode\":\"%s\",\"cluster\":%b,\"clients\":%d,"
              + "\"returned\":%d,\"back_ms\":{\"p10\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"all\":%.1f},"
              + "\"peak_reconnects_per_second\":%.0f,\"listen_drops\":%d,\"sessions_lost\":%d,"
              + "\"messages_acknowledged\":%d,\"messages_delivered\":%d,\"messages_lost\":%d}",
          mode.name().toLowerCase(Locale.ROOT), survivor != null, clients, returned, pct(back, 0.1), pct(back, 0.5), pct(back, 0.9),
          pct(back, 1.0), peakRate(curve), drops, sessionsLost.get(), sent, received.get(), lost), console);
      if (plot != null) {
        double[] t = curve.stream().mapToDouble(p -> p[0]).toArray();
        double[] n = curve.stream().mapToDouble(p -> p[1]).toArray();
        Files.writeString(plot, new HtmlPlot("longlink bench storm: " + clients + " clients, gateway killed and restarted")
            .add(new HtmlPlot.Chart("Clients connected after the restart", "seconds", "connected",
                List.of(new HtmlPlot.Series("connected", t, n))))
            .render());
        console.println("wrote " + plot);
      }
      return returned == clients && (survivor == null || sessionsLost.get() == 0 && lost == 0) ? 0 : 1;
    } finally {
      for (LonglinkClient c : all) {
        c.close();
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      gateway.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      if (survivor != null) {
        survivor.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** Highest number of clients that came back within any one second. */
  private static double peakRate(List<double[]> curve) {
    double peak = 0;
    for (int i = 0, j = 0; i < curve.size(); i++) {
      while (curve.get(i)[0] - curve.get(j)[0] > 1.0) {
        j++;
      }
      peak = Math.max(peak, curve.get(i)[1] - curve.get(j)[1]);
    }
    return peak;
  }

  private static double pct(long[] sorted, double q) {
    if (sorted.length == 0) {
      return -1;
    }
    int i = (int) Math.max(0, Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1));
    return sorted[i] / 1e6;
  }

  /**
   * A real gateway in a child JVM: the {@code longlink server} command with the JVM flags
   * `./longlink` gives it, its own defaults, no admin port, and (with a Redis URI) a cluster node.
   * Killable like a real node; SIGTERM drains it as it drains a real one. Returns once it accepts
   * connections.
   */
  private static Process startGateway(int port, int drainSpreadMs, String redis, String nodeId) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-XX:+UseCompactObjectHeaders", "-XX:MaxTenuringThreshold=1",
        "-cp", System.getProperty("java.class.path"), BenchCommand.serverMainClass(), "server",
        "--port", String.valueOf(port), "--admin-port", "-1", "--ws-port", "-1",
        "--drain-spread", drainSpreadMs + "ms", "--drain-timeout", (drainSpreadMs + 30_000) + "ms"));
    if (redis != null) {
      command.addAll(List.of("--redis", redis, "--cluster-name", "storm", "--node-id", nodeId));
    }
    Process p = new ProcessBuilder(command)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    awaitCondition(() -> {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
        return true;
      } catch (IOException e) {
        return false;
      }
    }, 30);
    return p;
  }

  private static void awaitCondition(java.util.function.BooleanSupplier done, int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("not reached within " + seconds + " s");
      }
      TimeUnit.MILLISECONDS.sleep(10);
    }
  }

  /** TcpExt ListenDrops of this network namespace (the kernel's count of dropped SYNs/accepts). */
  private static long listenDrops() throws IOException {
    List<String> lines = Files.readAllLines(Path.of("/proc/net/netstat"));
    for (int i = 0; i + 1 < lines.size(); i += 2) {
      if (lines.get(i).startsWith("TcpExt:")) {
        String[] names = lines.get(i).split("\\s+");
        String[] values = lines.get(i + 1).split("\\s+");
        for (int k = 1; k < names.length; k++) {
          if (names[k].equals("ListenDrops")) {
            return Long.parseLong(values[k]);
          }
        }
      }
    }
    return -1;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
