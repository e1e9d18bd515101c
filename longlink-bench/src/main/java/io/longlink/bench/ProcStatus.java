package io.longlink.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident memory and CPU time of a process, from {@code /proc/<pid>/status} and {@code /proc/<pid>/stat}. */
final class ProcStatus {
  private ProcStatus() {}

  /** VmRSS of {@code pid} ("self" for this process) in bytes, or -1 if the kernel does not say. */
  static long rssBytes(String pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
      }
    }
    return -1;
  }

  /** Clock ticks per second of {@link #cpuTicks} (Linux's USER_HZ). */
  static final int TICKS_PER_SECOND = 100;

  /** User plus system CPU time of {@code pid} ("self" for this process), in clock ticks. */
  static long cpuTicks(String pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }
}
