package io.longlink.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code longlink bench connections}: opens N idle sessions against a gateway in two halves,
 * spread over worker processes (at most --per-process each: 20,000 open files per process here) and
 * source addresses 127.0.0.2…, and for a local gateway measures the live-heap and RSS slope per
 * connection between N/2 and N, and its CPU while the connections idle.
 */
@Command(name = "connections", mixinStandardHelpOptions = true,
    description = "Idle-connection cost: N sessions in two halves over worker processes; with --server-pid, the "
        + "gateway's live heap (after a forced GC) and RSS slope per connection between N/2 and N, and its CPU "
        + "while holding.")
final class ConnectionsBench implements Callable<Integer> {
  private static final Pattern PROGRESS = Pattern.compile("connected=(\\d+) failed=(\\d+)");
  private static final Pattern USED = Pattern.compile("used (\\d+)K");

  @Spec CommandSpec spec;

  @Option(names = "--server", defaultValue = "127.0.0.1:7000", description = "Gateway (default: ${DEFAULT-VALUE}).")
  String server;

  @Option(names = "--count", defaultValue = "2000", description = "Sessions in all (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--rate", defaultValue = "2000", description = "New connections per second (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--hold", defaultValue = "10s", description = "Hold time at N, while CPU is measured (default: ${DEFAULT-VALUE}).")
  Duration hold;

  @Option(names = "--per-process", defaultValue = "19000", description = "Most connections per worker process (default: ${DEFAULT-VALUE}).")
  int perProcess;

  @Option(names = "--in-flight", defaultValue = "500", description = "Most handshakes in flight per worker (default: ${DEFAULT-VALUE}).")
  int inFlight;

  @Option(names = "--server-pid", description = "PID of a gateway on this machine: measure its heap, RSS and CPU.")
  Long serverPid;

  @Option(names = "--out", description = "Write the result as JSON to this file.")
  Path out;

  private final List<Process> workers = new ArrayList<>();
  private int nextSource = 2;

  @Override
  public Integer call() throws Exception {
    PrintWriter console = spec.commandLine().getOut();
    java.net.InetSocketAddress target = io.longlink.protocol.HostPort.parse(server, "--server");
    String host = target.getHostString();
    int port = target.getPort();
    int half = count / 2;
    try {
      Measurement base = measure();
      int connectedHalf = ramp(host, port, half, 0, console);
      Measurement atHalf = measure();
      int connectedAll = ramp(host, port, count - half, connectedHalf, console);
      Measurement atFull = measure();
      long cpu0 = cpuTicks();
      long t0 = System.nanoTime();
      TimeUnit.NANOSECONDS.sleep(hold.toNanos());
      double seconds = (System.nanoTime() - t0) / 1e9;
      double cpuPercent = serverPid == null ? -1 : (cpuTicks() - cpu0) / 100.0 / seconds * 100;
      int failed = count - connectedAll;
      double heapSlope = atHalf == null ? -1 : (atFull.heapBytes - atHalf.heapBytes) / (double) (connectedAll - connectedHalf);
      double rssSlope = atHalf == null ? -1 : (atFull.rssBytes - atHalf.rssBytes) / (double) (connectedAll - connectedHalf);
      String line = String.format(Locale.ROOT, "connections: %d connected, %d failed; server live heap %s B/conn, RSS %s "
              + "B/conn (slope %d..%d); server CPU while holding %s%%", connectedAll, failed, fmt(heapSlope),
          fmt(rssSlope), connectedHalf, connectedAll, fmt(cpuPercent));
      console.println(line);
      if (base != null) {
        console.printf(Locale.ROOT, "server heap used: %d KiB at 0, %d KiB at %d, %d KiB at %d; RSS %d / %d / %d KiB%n",
            base.heapBytes >> 10, atHalf.heapBytes >> 10, connectedHalf, atFull.heapBytes >> 10, connectedAll,
            base.rssBytes >> 10, atHalf.rssBytes >> 10, atFull.rssBytes >> 10);
      }
      if (out != null) {
        Files.writeString(out, String.format(Locale.ROOT, "{\"bench\":\"connections\",\"count\":%d,\"connected\":%d,"
                + "\"failed\":%d,\"heap_bytes_per_connection\":%.1f,\"rss_bytes_per_connection\":%.1f,"
                + "\"server_cpu_percent\":%.2f,\"slope_from\":%d,\"slope_to\":%d}%n", count, connectedAll, failed,
            heapSlope, rssSlope, cpuPercent, connectedHalf, connectedAll));
      }
      return failed == 0 ? 0 : 1;
    } finally {
      for (Process w : workers) {
        w.destroy();
      }
      for (Process w : workers) {
        w.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static String fmt(double v) {
    return v < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f", v);
  }

  /** Starts workers for {@code n} more sessions; returns the total connected once they are all up. */
  private int ramp(String host, int port, int n, int already, PrintWriter console) throws Exception {
    List<Process> started = new ArrayList<>();
    int left = n;
    while (left > 0) {
      int k = Math.min(left, perProcess);
      left -= k;
      String source = "127.0.0." + nextSource++;
      List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
          "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
          LoadWorker.class.getName(), host, String.valueOf(port), String.valueOf(k),
          String.valueOf(Math.max(1, rate / Math.max(1, (n + perProcess - 1) / perProcess))), source, "w" + nextSource + "-",
          "86400", String.valueOf(inFlight));
      Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      workers.add(p);
      started.add(p);
    }
    AtomicIntegerArray connected = new AtomicIntegerArray(started.size());
    AtomicIntegerArray failed = new AtomicIntegerArray(started.size());
    List<Thread> readers = new ArrayList<>();
    for (int i = 0; i < started.size(); i++) {
      int idx = i;
      Process p = started.get(i);
      readers.add(Thread.ofPlatform().daemon().start(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line; (line = r.readLine()) != null; ) {
            Matcher m = PROGRESS.matcher(line);
            if (m.find()) {
              connected.set(idx, Integer.parseInt(m.group(1)));
              failed.set(idx, Integer.parseInt(m.group(2)));
            }
          }
        } catch (IOException e) {
          // worker gone
        }
      }));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60 + n / Math.max(1, rate) * 3L);
    int sum;
    int fails;
    do {
      TimeUnit.MILLISECONDS.sleep(500);
      sum = 0;
      fails = 0;
      for (int i = 0; i < started.size(); i++) {
        sum += connected.get(i);
        fails += failed.get(i);
      }
      console.printf("\rramping: %d/%d connected, %d failed   ", already + sum, already + n, fails);
      console.flush();
    } while (sum + fails < n && System.nanoTime() < deadline);
    console.println();
    return already + sum;
  }

  private record Measurement(long heapBytes, long rssBytes) {}

  /** Forces a full GC in the gateway and reads its live heap and RSS; null without --server-pid. */
  private Measurement measure() throws Exception {
    if (serverPid == null) {
      return null;
    }
    String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    run(jcmd, String.valueOf(serverPid), "GC.run");
    run(jcmd, String.valueOf(serverPid), "GC.run");
    Matcher m = USED.matcher(run(jcmd, String.valueOf(serverPid), "GC.heap_info"));
    long heap = m.find() ? Long.parseLong(m.group(1)) * 1024 : -1;
    long rss = -1;
    for (String line : Files.readAllLines(Path.of("/proc/" + serverPid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        rss = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
      }
    }
    return new Measurement(heap, rss);
  }

  /** utime + stime of the gateway, in clock ticks (100 per second). */
  private long cpuTicks() throws IOException {
    if (serverPid == null) {
      return 0;
    }
    String stat = Files.readString(Path.of("/proc/" + serverPid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  private static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String outText = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    return outText;
  }
}
