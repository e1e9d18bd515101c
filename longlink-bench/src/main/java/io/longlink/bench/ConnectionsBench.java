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
  private static final Pattern PROGRESS = Pattern.compile("connected=(\\d+) failed=(\\d+) reasons=(\\{.*})");
  private static final Pattern REASON = Pattern.compile("\"([^\"]+)\":(\\d+)");
  /** A worker's own cost, half way through its ramp ("half") and at its end ("self", with the login latencies). */
  private static final Pattern SELF =
      Pattern.compile("^(half|self) connections=(\\d+) heap=(\\d+) rss=(\\d+)(?: latency=(\\S+))?");
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

  @Option(names = "--settle", defaultValue = "3s", description = "Wait after each half of the ramp before measuring the "
      + "server, so that its connections idle as they do between heartbeats (a gateway may trim idle connections "
      + "within a second or two; default: ${DEFAULT-VALUE}).")
  Duration settle;

  @Option(names = "--per-process", defaultValue = "19000", description = "Most connections per worker process (default: ${DEFAULT-VALUE}).")
  int perProcess;

  @Option(names = "--in-flight", defaultValue = "500", description = "Most handshakes in flight per worker (default: ${DEFAULT-VALUE}).")
  int inFlight;

  @Option(names = "--server-pid", description = "PID of a gateway on this machine: measure its heap, RSS and CPU.")
  Long serverPid;

  @Option(names = "--protocol", defaultValue = "LONGLINK",
      description = "What the server speaks: ${COMPLETION-CANDIDATES} (TCP: a bare server that echoes; default: ${DEFAULT-VALUE}).")
  PeerProtocol protocol;

  @Option(names = "--devices-per-user", defaultValue = "0", description = "LONGLINK: log in as devices "
      + "(protocol version 3), this many per user, connection i being device d(i % N) of user u(i / N); 0: no device "
      + "id, one client per connection (default: ${DEFAULT-VALUE}). At most the gateway's --max-sessions-per-user.")
  int devicesPerUser;

  @Option(names = "--heartbeat", defaultValue = "30s", description = "Client heartbeat interval (default: ${DEFAULT-VALUE}).")
  Duration heartbeat;

  @Option(names = "--tls", description = "Connect over TLS (the gateway started with --tls-cert/--tls-key).")
  boolean tls;

  @Option(names = "--tls-ca", paramLabel = "FILE", description = "With --tls: trust the authorities in this PEM file "
      + "(default: trust any certificate -- a load generator against one's own gateway).")
  Path tlsCa;

  @Option(names = "--ws", paramLabel = "PATH", arity = "0..1", fallbackValue = "/longlink",
      description = "Connect over WebSocket, upgrading at PATH (default path: ${FALLBACK-VALUE}); --server names the "
          + "gateway's WebSocket port.")
  String ws;

  @Option(names = "--out", description = "Write the result as JSON to this file.")
  Path out;

  @Option(names = "--plot", description = "Write connections and server memory over time as a self-contained HTML page.")
  Path plot;

  private final List<Process> workers = new ArrayList<>();
  private final List<WorkerState> states = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<double[]> samples = java.util.Collections.synchronizedList(new ArrayList<>());
  private int nextSource = 2;

  /** What one worker process last reported. */
  private static final class WorkerState {
    volatile int connected;
    volatile int failed;
    volatile java.util.Map<String, Integer> reasons = java.util.Map.of();
    /** The worker's own cost half way through its ramp and at its end: the two points of its slope. */
    volatile Self half;
    volatile Self end;
    volatile org.HdrHistogram.Histogram latency;
  }

  /** A worker's connections, live heap and RSS at one point. */
  private record Self(long connections, long heap, long rss) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter console = spec.commandLine().getOut();
    java.net.InetSocketAddress target = io.longlink.protocol.HostPort.parse(server, "--server");
    if (devicesPerUser < 0 || devicesPerUser > 0 && protocol != PeerProtocol.LONGLINK) {
      throw new IllegalArgumentException("--devices-per-user: " + devicesPerUser + " with --protocol " + protocol
          + " (expected: 0, or >= 1 with LONGLINK)");
    }
    String host = target.getHostString();
    int port = target.getPort();
    int half = count / 2;
    long t0 = System.nanoTime();
    Thread sampler = Thread.ofPlatform().daemon().start(() -> sample(t0));
    try {
      Measurement base = measure();
      int connectedHalf = ramp(host, port, half, 0, console);
      TimeUnit.NANOSECONDS.sleep(settle.toNanos()); // a measurement window, not synchronisation
      Measurement atHalf = measure();
      int connectedAll = ramp(host, port, count - half, connectedHalf, console);
      TimeUnit.NANOSECONDS.sleep(settle.toNanos());
      Measurement atFull = measure();
      long cpu0 = cpuTicks();
      long h0 = System.nanoTime();
      TimeUnit.NANOSECONDS.sleep(hold.toNanos());
      double seconds = (System.nanoTime() - h0) / 1e9;
      double cpuPercent = serverPid == null ? -1 : (cpuTicks() - cpu0) / (double) ProcStatus.TICKS_PER_SECOND / seconds * 100;
      int failed = count - connectedAll;
      int added = Math.max(1, connectedAll - connectedHalf);
      double heapSlope = atHalf == null || atHalf.heapBytes < 0 ? -1 : (atFull.heapBytes - atHalf.heapBytes) / (double) added;
      double rssSlope = atHalf == null ? -1 : (atFull.rssBytes - atHalf.rssBytes) / (double) added;
      console.println(String.format(Locale.ROOT, "connections (%s): %d connected, %d failed; server live heap %s B/conn, "
              + "RSS %s B/conn (slope %d..%d); server CPU while holding %s%%", protocol, connectedAll, failed,
          fmt(heapSlope), fmt(rssSlope), connectedHalf, connectedAll, fmt(cpuPercent)));
      if (base != null) {
        console.println(String.format(Locale.ROOT, "server heap used: %s KiB at 0, %s KiB at %d, %s KiB at %d; RSS %d / %d "
                + "/ %d KiB", kib(base.heapBytes), kib(atHalf.heapBytes), connectedHalf, kib(atFull.heapBytes),
            connectedAll, base.rssBytes >> 10, atHalf.rssBytes >> 10, atFull.rssBytes >> 10));
      }
      java.util.Map<String, Integer> reasons = new java.util.TreeMap<>();
      org.HdrHistogram.Histogram latency = new org.HdrHistogram.Histogram(3);
      long selfHeap = 0;
      long selfRss = 0;
      long slopeHeap = 0;
      long slopeRss = 0;
      long slopeConnections = 0;
      for (WorkerState w : states) {
        w.reasons.forEach((k, v) -> reasons.merge(k, v, Integer::sum));
        if (w.latency != null) {
          latency.add(w.latency);
        }
        Self mid = w.half;
        Self last = w.end;
        if (last != null) {
          selfHeap += last.heap();
          selfRss += last.rss();
          if (mid != null && last.connections() > mid.connections()) {
            slopeHeap += last.heap() - mid.heap();
            slopeRss += last.rss() - mid.rss();
            slopeConnections += last.connections() - mid.connections();
          }
        }
      }
      if (!reasons.isEmpty()) {
        console.println("failures by reason: " + reasons);
      }
      console.println(String.format(Locale.ROOT, "connect to logged in: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
          ms(latency, 50), ms(latency, 90), ms(latency, 99), latency.getMaxValue() / 1000.0));
      double genHeap = selfHeap / (double) Math.max(1, connectedAll);
      double genRss = selfRss / (double) Math.max(1, connectedAll);
      double genHeapSlope = slopeConnections == 0 ? -1 : slopeHeap / (double) slopeConnections;
      double genRssSlope = slopeConnections == 0 ? -1 : slopeRss / (double) slopeConnections;
      console.println(String.format(Locale.ROOT, "load generator (%d processes): %s per connection (slope over each "
          + "process's second half); %.0f B heap and %.0f B RSS per connection with the JVMs' baseline", states.size(),
          slopeConnections == 0 ? "n/a" : String.format(Locale.ROOT, "%.0f B heap and %.0f B RSS", genHeapSlope,
              genRssSlope), genHeap, genRss));
      if (out != null) {
        StringBuilder r = new StringBuilder();
        reasons.forEach((k, v) -> r.append(r.length() == 0 ? "" : ",").append('"')
            .append(com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(k)).append("\":").append(v));
        Files.writeString(out, String.format(Locale.ROOT, "{\"bench\":\"connections\",\"protocol\":\"%s\",\"count\":%d,"
                + "\"connected\":%d,\"failed\":%d,\"failures\":{%s},\"heap_bytes_per_connection\":%.1f,"
                + "\"rss_bytes_per_connection\":%.1f,\"server_cpu_percent\":%.2f,\"slope_from\":%d,\"slope_to\":%d,"
                + "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
                + "\"load_generator\":{\"processes\":%d,\"heap_bytes_per_connection\":%.1f,\"rss_bytes_per_connection\":%.1f,"
                + "\"heap_bytes_per_connection_with_baseline\":%.1f,\"rss_bytes_per_connection_with_baseline\":%.1f},"
                + "\"points\":[%s,%s,%s]}%n", protocol.name().toLowerCase(Locale.ROOT), count, connectedAll, failed, r,
            heapSlope, rssSlope, cpuPercent, connectedHalf, connectedAll, ms(latency, 50), ms(latency, 90),
            ms(latency, 99), latency.getMaxValue() / 1000.0, states.size(), genHeapSlope, genRssSlope, genHeap, genRss,
            point(0, base),
            point(connectedHalf, atHalf), point(connectedAll, atFull)));
      }
      if (plot != null) {
        writePlot();
        console.println("wrote " + plot);
      }
      return failed == 0 ? 0 : 1;
    } finally {
      sampler.interrupt();
      for (Process w : workers) {
        w.destroy();
      }
      for (Process w : workers) {
        w.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static String point(int connections, Measurement m) {
    return m == null ? String.format(Locale.ROOT, "{\"connections\":%d}", connections)
        : String.format(Locale.ROOT, "{\"connections\":%d,\"heap_bytes\":%d,\"rss_bytes\":%d}", connections,
            m.heapBytes, m.rssBytes);
  }

  private static double ms(org.HdrHistogram.Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
  }

  private static String kib(long bytes) {
    return bytes < 0 ? "n/a" : String.valueOf(bytes >> 10);
  }

  /** Every 500 ms: seconds since start, connections up, server RSS in MiB (0 without --server-pid). */
  private void sample(long t0) {
    try {
      while (!Thread.currentThread().isInterrupted()) {
        int up = 0;
        for (WorkerState w : states) {
          up += w.connected;
        }
        samples.add(new double[] {(System.nanoTime() - t0) / 1e9, up, serverPid == null ? 0 : rss() / 1048576.0});
        TimeUnit.MILLISECONDS.sleep(500);
      }
    } catch (InterruptedException | IOException e) {
      // done
    }
  }

  private void writePlot() throws IOException {
    double[][] s;
    synchronized (samples) {
      s = samples.toArray(new double[0][]);
    }
    double[] t = new double[s.length];
    double[] up = new double[s.length];
    double[] rss = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      t[i] = s[i][0];
      up[i] = s[i][1];
      rss[i] = s[i][2];
    }
    HtmlPlot page = new HtmlPlot("longlink bench connections: " + count + " x " + protocol + " to " + server)
        .add(new HtmlPlot.Chart("Connections", "seconds", "connected", List.of(new HtmlPlot.Series("connected", t, up))));
    if (serverPid != null) {
      page.add(new HtmlPlot.Chart("Server memory", "seconds", "RSS MiB", List.of(new HtmlPlot.Series("server RSS", t, rss))));
    }
    Files.writeString(plot, page.render());
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
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          tls ? "-Xmx1g" : "-Xmx256m",
          "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
          LoadWorker.class.getName(), host, String.valueOf(port), String.valueOf(k),
          String.valueOf(Math.max(1, rate / Math.max(1, (n + perProcess - 1) / perProcess))), source, "w" + nextSource + "-",
          "86400", String.valueOf(inFlight), protocol.name(), String.valueOf(heartbeat.toMillis()),
          !tls ? "-" : tlsCa == null ? BenchTls.TRUST_ANY : tlsCa.toAbsolutePath().toString(), ws == null ? "-" : ws,
          String.valueOf(devicesPerUser)));
      Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      workers.add(p);
      started.add(p);
    }
    List<WorkerState> mine = new ArrayList<>();
    for (Process p : started) {
      WorkerState w = new WorkerState();
      mine.add(w);
      states.add(w);
      Thread.ofPlatform().daemon().start(() -> follow(p, w));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60 + n / Math.max(1, rate) * 3L);
    int sum;
    int fails;
    boolean reported;
    do {
      TimeUnit.MILLISECONDS.sleep(500);
      sum = 0;
      fails = 0;
      reported = true;
      for (WorkerState w : mine) {
        sum += w.connected;
        fails += w.failed;
        reported &= w.latency != null;
      }
      console.printf("\rramping: %d/%d connected, %d failed   ", already + sum, already + n, fails);
      console.flush();
    } while ((sum + fails < n || !reported) && System.nanoTime() < deadline);
    console.println();
    return already + sum;
  }

  /** Reads a worker's report lines into its state until the worker exits. */
  private static void follow(Process p, WorkerState w) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        Matcher m = PROGRESS.matcher(line);
        if (m.find()) {
          java.util.Map<String, Integer> reasons = new java.util.HashMap<>();
          Matcher rm = REASON.matcher(m.group(3));
          while (rm.find()) {
            reasons.put(rm.group(1), Integer.parseInt(rm.group(2)));
          }
          w.reasons = reasons;
          w.failed = Integer.parseInt(m.group(2));
          w.connected = Integer.parseInt(m.group(1));
          continue;
        }
        Matcher s = SELF.matcher(line);
        if (s.find()) {
          Self self = new Self(Long.parseLong(s.group(2)), Long.parseLong(s.group(3)), Long.parseLong(s.group(4)));
          if (s.group(1).equals("half")) {
            w.half = self;
          } else {
            w.end = self;
            w.latency = org.HdrHistogram.Histogram.decodeFromCompressedByteBuffer(
                java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(s.group(5))), 0);
          }
        }
      }
    } catch (IOException | java.util.zip.DataFormatException e) {
      // worker gone
    }
  }

  private record Measurement(long heapBytes, long rssBytes) {}

  /** Forces a full GC in the gateway and reads its live heap and RSS; null without --server-pid. */
  private Measurement measure() throws Exception {
    if (serverPid == null) {
      return null;
    }
    long heap = -1;
    if (isJvm()) {
      String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
      run(jcmd, String.valueOf(serverPid), "GC.run");
      run(jcmd, String.valueOf(serverPid), "GC.run");
      Matcher m = USED.matcher(run(jcmd, String.valueOf(serverPid), "GC.heap_info"));
      heap = m.find() ? Long.parseLong(m.group(1)) * 1024 : -1;
    }
    return new Measurement(heap, rss());
  }

  private boolean isJvm() throws IOException {
    Path exe = Path.of("/proc/" + serverPid + "/exe").toRealPath();
    return exe.getFileName().toString().equals("java");
  }

  private long rss() throws IOException {
    return ProcStatus.rssBytes(String.valueOf(serverPid));
  }

  /** utime + stime of the gateway, in clock ticks. */
  private long cpuTicks() throws IOException {
    return serverPid == null ? 0 : ProcStatus.cpuTicks(String.valueOf(serverPid));
  }

  private static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String outText = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    return outText;
  }
}
