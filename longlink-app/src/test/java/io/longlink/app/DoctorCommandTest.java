package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The doctor against a made-up /proc and /sys: each shortfall with its fix, and a clean bill of health. */
class DoctorCommandTest {
  @TempDir Path proc;
  @TempDir Path sys;

  void host(long nofile, long nrOpen, long somaxconn, String portRange, Long conntrackMax, long memAvailableKb)
      throws IOException {
    write("self/limits", "Limit                     Soft Limit           Hard Limit           Units\n"
        + "Max open files            " + nofile + "                " + nofile + "                files\n");
    write("sys/fs/nr_open", nrOpen + "\n");
    write("sys/fs/file-max", "9223372036854775807\n");
    write("sys/net/core/somaxconn", somaxconn + "\n");
    write("sys/net/ipv4/tcp_max_syn_backlog", "8192\n");
    write("sys/net/ipv4/ip_local_port_range", portRange + "\n");
    if (conntrackMax != null) {
      write("sys/net/netfilter/nf_conntrack_max", conntrackMax + "\n");
    }
    write("meminfo", "MemTotal:       24000000 kB\nMemAvailable:   " + memAvailableKb + " kB\n");
  }

  void write(String relative, String text) throws IOException {
    write(proc, relative, text);
  }

  static void write(Path root, String relative, String text) throws IOException {
    Path p = root.resolve(relative);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
  }

  @Test
  void everyShortfallComesWithTheCommandThatFixesIt() throws IOException {
    host(20_000, 1_048_576, 128, "32768\t60999", 262_144L, 4_000_000);
    CliTest.Result r = doctor();
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out())
        .contains("SHORT open files, hard limit").contains("LimitNOFILE=1001000")
        .contains("SHORT net.core.somaxconn").contains("sysctl -w net.core.somaxconn=4096")
        .contains("SHORT net.ipv4.ip_local_port_range").contains("sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"")
        .contains("SHORT net.netfilter.nf_conntrack_max").contains("sysctl -w net.netfilter.nf_conntrack_max=1250000")
        .contains("SHORT memory available")
        .contains("ok    fs.nr_open")
        .contains("ok    net.ipv4.tcp_max_syn_backlog");
  }

  @Test
  void aHostThatFitsPassesAndConntrackIsOnlyCheckedWhenLoaded() throws IOException {
    host(2_000_000, 2_000_000, 4096, "1024 65535", null, 20_000_000);
    CliTest.Result r = doctor();
    assertThat(r.code()).as(r.out()).isZero();
    assertThat(r.out()).contains("all checks passed").doesNotContain("SHORT").doesNotContain("conntrack");
  }

  /** A kdamond as a VM image may run one: physical memory, sampled every 500 ms, paging out. */
  void kdamond(int n, String state) throws IOException {
    String k = "kernel/mm/damon/admin/kdamonds/" + n + "/";
    write(sys, "kernel/mm/damon/admin/kdamonds/nr_kdamonds", (n + 1) + "\n");
    write(sys, k + "state", state + "\n");
    write(sys, k + "contexts/0/operations", "paddr\n");
    write(sys, k + "contexts/0/monitoring_attrs/intervals/sample_us", "500000\n");
  }

  @Test
  void aRunningMemoryMonitorIsAWarningWithItsFixNotAShortfall() throws IOException {
    host(2_000_000, 2_000_000, 4096, "1024 65535", null, 20_000_000);
    kdamond(0, "on");
    kdamond(1, "off");
    CliTest.Result r = doctor();
    assertThat(r.code()).as(r.out()).isZero();
    assertThat(r.out())
        .contains("warn  kernel memory monitor (DAMON)")
        .contains("have kdamond 0 (paddr, samples every 500 ms)")
        .contains("fix: echo off > " + sys.resolve("kernel/mm/damon/admin/kdamonds/0/state"))
        .doesNotContain("kdamonds/1/state")
        .contains("all checks passed, 1 warning(s)");
  }

  @Test
  void monitorsSwitchedOffPass() throws IOException {
    host(2_000_000, 2_000_000, 4096, "1024 65535", null, 20_000_000);
    kdamond(0, "off");
    CliTest.Result r = doctor();
    assertThat(r.code()).as(r.out()).isZero();
    assertThat(r.out()).contains("ok    kernel memory monitor (DAMON)").contains("have none running")
        .contains("all checks passed\n");
  }

  @Test
  void aKernelWithoutPerThreadSlicesIsAWarning() throws IOException {
    host(2_000_000, 2_000_000, 4096, "1024 65535", null, 20_000_000);
    write("sys/kernel/osrelease", "5.14.0-427.el9.x86_64\n");
    CliTest.Result old = doctor();
    assertThat(old.code()).as(old.out()).isZero();
    assertThat(old.out()).contains("warn  per-thread scheduler slices (--io-thread-slice)")
        .contains("have Linux 5.14.0-427.el9.x86_64").contains("fix: a 6.12+ kernel")
        .contains("all checks passed, 1 warning(s)");
    write("sys/kernel/osrelease", "6.12.0\n");
    assertThat(doctor().out()).contains("ok    per-thread scheduler slices (--io-thread-slice)")
        .contains("all checks passed\n");
  }

  private CliTest.Result doctor() {
    return CliTest.run("doctor", "--proc", proc.toString(), "--sys", sys.toString(), "--connections", "1000000");
  }
}
