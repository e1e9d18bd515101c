package io.longlink.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident memory of a process, from {@code /proc/<pid>/status}. */
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
}
