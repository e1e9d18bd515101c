package io.longlink.app;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code longlink doctor}: checks this host against what N connections need and prints, for each
 * shortfall, the command that fixes it. Exit code 1 when something falls short; a warning (something
 * that costs latency, not capacity) is printed with its fix but does not fail.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = {"Checks this host for what --connections idle connections need (open files, kernel limits, "
        + "accept queues, conntrack, memory) and prints each shortfall with the command that fixes it.",
        "Also warns of what stalls a low-latency flow (a kernel memory monitor sampling all memory).",
        "Exit code 0: all fine (warnings allowed); 1: something falls short."})
final class DoctorCommand implements Callable<Integer> {
  /** Planning figures per connection, from docs/BENCHMARKS.md (heap sized at 2.5x live). */
  static final long HEAP_BYTES_PER_CONNECTION = 1_300 * 5 / 2;
  static final long KERNEL_BYTES_PER_CONNECTION = 5 * 1024;
  static final int WANTED_BACKLOG = 4096;
  private static final Pattern KERNEL_VERSION = Pattern.compile("(\\d+)\\.(\\d+)");

  @Spec CommandSpec spec;

  @Option(names = "--connections", defaultValue = "1000000",
      description = "Connections one gateway process should hold (default: ${DEFAULT-VALUE}).")
  long connections;

  /** Where /proc lives: for tests. */
  @Option(names = "--proc", defaultValue = "/proc", hidden = true)
  Path proc;

  /** Where /sys lives: for tests. */
  @Option(names = "--sys", defaultValue = "/sys", hidden = true)
  Path sys;

  /** One line of the report; a warning costs latency, not capacity, and does not fail the check. */
  record Check(String name, String have, String need, boolean ok, String fix, boolean warning) {
    Check(String name, String have, String need, boolean ok, String fix) {
      this(name, have, need, ok, fix, false);
    }

    String label() {
      return ok ? "ok" : warning ? "warn" : "SHORT";
    }
  }

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    List<Check> checks = checks();
    out.println(String.format(Locale.ROOT, "longlink doctor: can this host hold %,d connections in one gateway process?",
        connections));
    int short_ = 0;
    int warnings = 0;
    for (Check c : checks) {
      out.println(String.format(Locale.ROOT, "%-5s %-34s have %-22s need %s", c.label(), c.name(), c.have(), c.need()));
      if (!c.ok()) {
        if (c.warning()) {
          warnings++;
        } else {
          short_++;
        }
        out.println("      fix: " + c.fix());
      }
    }
    String warned = warnings == 0 ? "" : ", " + warnings + " warning(s)";
    out.println(short_ == 0 ? "all checks passed" + warned : short_ + " shortfall(s)" + warned + "; the fixes above "
        + "need root and last until reboot (persist sysctls in /etc/sysctl.d/, limits in the service unit's "
        + "LimitNOFILE=)");
    return short_ == 0 ? 0 : 1;
  }

  List<Check> checks() throws IOException {
    long files = connections + 1_000; // listeners, logs, jars, epoll, admin
    List<Check> checks = new ArrayList<>();
    long[] nofile = openFileLimits();
    checks.add(new Check("open files, soft limit (ulimit -n)", fmt(nofile[0]), fmt(files), nofile[0] >= files,
        nofile[1] >= files ? "ulimit -n " + files + " in the shell that starts the gateway (or LimitNOFILE=" + files
            + " in its systemd unit)"
            : "the hard limit is " + fmt(nofile[1]) + ": raise it first (/etc/security/limits.conf or LimitNOFILE="
                + files + "); where a container caps it, run several gateway processes of at most "
                + fmt(Math.max(0, nofile[1] - 1_000)) + " connections each"));
    checks.add(new Check("open files, hard limit", fmt(nofile[1]), fmt(files), nofile[1] >= files,
        "LimitNOFILE=" + files + " (systemd) or '* hard nofile " + files + "' in /etc/security/limits.conf; it cannot "
            + "exceed fs.nr_open"));
    sysctl(checks, "fs.nr_open", files, "sysctl -w fs.nr_open=" + files);
    sysctl(checks, "fs.file-max", files + 100_000, "sysctl -w fs.file-max=" + (files + 100_000));
    sysctl(checks, "net.core.somaxconn", WANTED_BACKLOG, "sysctl -w net.core.somaxconn=" + WANTED_BACKLOG);
    sysctl(checks, "net.ipv4.tcp_max_syn_backlog", 2L * WANTED_BACKLOG,
        "sysctl -w net.ipv4.tcp_max_syn_backlog=" + 2 * WANTED_BACKLOG);
    String range = read("sys/net/ipv4/ip_local_port_range");
    if (range != null) {
      String[] r = range.trim().split("\\s+");
      long width = Long.parseLong(r[1]) - Long.parseLong(r[0]) + 1;
      checks.add(new Check("net.ipv4.ip_local_port_range", r[0] + "-" + r[1], ">= 50,000 ports", width >= 50_000,
          "sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\" (outbound connections: load generators, relays, "
              + "Redis; each source address reaches one server port at most this many times)"));
    }
    String conntrack = read("sys/net/netfilter/nf_conntrack_max");
    if (conntrack != null) { // only when conntrack is loaded: then every connection takes an entry
      long need = connections + connections / 4;
      long have = Long.parseLong(conntrack.trim());
      checks.add(new Check("net.netfilter.nf_conntrack_max", fmt(have), fmt(need), have >= need,
          "sysctl -w net.netfilter.nf_conntrack_max=" + need + " (or exempt the gateway's port from conntrack with "
              + "an nftables 'notrack' rule in a raw-priority prerouting chain)"));
    }
    long available = memAvailable();
    long need = connections * (HEAP_BYTES_PER_CONNECTION + KERNEL_BYTES_PER_CONNECTION);
    checks.add(new Check("memory available", mib(available), mib(need) + " (heap + kernel)", available >= need,
        "more memory, or spread the connections over more nodes; gateway heap: -Xmx"
            + Math.max(1, connections * HEAP_BYTES_PER_CONNECTION >> 30) + "g via LONGLINK_JAVA_OPTS"));
    damon(checks);
    schedulerSlices(checks);
    return checks;
  }

  /**
   * Whether the kernel takes the short scheduler slices the gateway's event loops ask for
   * ({@code --io-thread-slice}): per-thread slices came with Linux 6.12. Older, the loops keep the
   * default slice and a woken loop may wait behind a whole slice of another thread (docs/BENCHMARKS.md
   * "Short scheduler slices").
   */
  private void schedulerSlices(List<Check> checks) throws IOException {
    String release = trimmed(proc.resolve("sys/kernel/osrelease"));
    Matcher v = release == null ? null : KERNEL_VERSION.matcher(release);
    if (v == null || !v.lookingAt()) {
      return;
    }
    int major = Integer.parseInt(v.group(1));
    int minor = Integer.parseInt(v.group(2));
    checks.add(new Check("per-thread scheduler slices (--io-thread-slice)", "Linux " + release, "Linux 6.12+",
        major > 6 || major == 6 && minor >= 12, "a 6.12+ kernel; until then the event loops run with the default "
            + "slice (a latency tail of a few ms under CPU contention, no loss)", true));
  }

  /**
   * The kernel's DAMON memory monitors (some VM images run one to page out cold memory): each
   * sampling pass walks all physical memory and clears accessed bits, and the TLB flushes stall
   * every CPU for a millisecond or more. On the 2-core benchmark host, one sampling every 500 ms
   * put the p99 of a 10 k msg/s flow at 1.7-2.0 ms; switched off, 0.7-1.5 ms (docs/BENCHMARKS.md).
   */
  private void damon(List<Check> checks) throws IOException {
    Path kdamonds = sys.resolve("kernel/mm/damon/admin/kdamonds");
    if (!Files.isDirectory(kdamonds)) {
      return;
    }
    List<String> running = new ArrayList<>();
    List<String> fixes = new ArrayList<>();
    try (var dirs = Files.list(kdamonds)) {
      for (Path k : dirs.sorted().toList()) {
        Path state = k.resolve("state");
        if ("on".equals(trimmed(state))) {
          running.add("kdamond " + k.getFileName() + describeKdamond(k));
          fixes.add("echo off > " + state);
        }
      }
    }
    checks.add(new Check("kernel memory monitor (DAMON)", running.isEmpty() ? "none running" : String.join(", ", running),
        "none, for sub-ms tails", running.isEmpty(), String.join("; ", fixes) + " (as root; it is the host's "
            + "proactive memory reclaim: leave it on where memory is tight and latency is not the point)", true));
  }

  /** " (paddr, samples every 500 ms)" from the first context of a kdamond, or "" if unreadable. */
  private static String describeKdamond(Path kdamond) throws IOException {
    Path context = kdamond.resolve("contexts/0");
    String ops = trimmed(context.resolve("operations"));
    String sampleUs = trimmed(context.resolve("monitoring_attrs/intervals/sample_us"));
    return ops == null || sampleUs == null ? "" : " (" + ops + ", samples every " + Long.parseLong(sampleUs) / 1000 + " ms)";
  }

  private void sysctl(List<Check> checks, String name, long need, String fix) throws IOException {
    String v = read("sys/" + name.replace('.', '/'));
    if (v == null) {
      return;
    }
    long have = Long.parseLong(v.trim().split("\\s+")[0]);
    checks.add(new Check(name, fmt(have), fmt(need), have >= need, fix));
  }

  /** Soft and hard "Max open files" of this process (the gateway inherits the shell's). */
  private long[] openFileLimits() throws IOException {
    String limits = read("self/limits");
    if (limits != null) {
      for (String line : limits.split("\n")) {
        if (line.startsWith("Max open files")) {
          String[] f = line.substring("Max open files".length()).trim().split("\\s+");
          return new long[] {limit(f[0]), limit(f[1])};
        }
      }
    }
    return new long[] {-1, -1};
  }

  private static long limit(String s) {
    return s.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(s);
  }

  private long memAvailable() throws IOException {
    String meminfo = read("meminfo");
    if (meminfo != null) {
      for (String line : meminfo.split("\n")) {
        if (line.startsWith("MemAvailable:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
      }
    }
    return -1;
  }

  private String read(String relative) throws IOException {
    return text(proc.resolve(relative));
  }

  /** A /proc or /sys file's text, or null if there is none to read. */
  private static String text(Path p) throws IOException {
    // Line by line: Files.readString/readAllBytes return only the first byte of some sysctl files.
    return Files.isReadable(p) ? String.join("\n", Files.readAllLines(p)) : null;
  }

  private static String trimmed(Path p) throws IOException {
    String t = text(p);
    return t == null ? null : t.trim();
  }

  private static String fmt(long v) {
    return v == Long.MAX_VALUE ? "unlimited" : String.format(Locale.ROOT, "%,d", v);
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%,d MiB", bytes >> 20);
  }
}
