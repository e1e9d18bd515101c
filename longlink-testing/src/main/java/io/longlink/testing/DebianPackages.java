package io.longlink.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Tests that drive a Debian tool (nftables, chromium) install its package themselves when they run
 * as root and it is missing, so {@code ./mvnw -B verify} stays the one test command on a fresh
 * machine.
 */
public final class DebianPackages {
  private DebianPackages() {}

  /** A command's exit code and output. */
  public record Result(int code, String output) {
    public boolean ok() {
      return code == 0;
    }
  }

  /**
   * Makes sure {@code probe} runs (e.g. {@code nft --version}), installing {@code pkg} with apt-get
   * if it does not and this is root.
   *
   * @return null when the probe runs, else why it still does not (for the test to skip with)
   */
  public static String ensure(String pkg, String... probe) throws IOException, InterruptedException {
    if (run(probe).ok()) {
      return null;
    }
    if (!"root".equals(System.getProperty("user.name"))) {
      return String.join(" ", probe) + " does not run and installing " + pkg + " needs root: apt-get install " + pkg;
    }
    Result install = run("apt-get", "install", "-y", "-qq", pkg);
    if (!install.ok()) {
      run("apt-get", "update", "-qq");
      install = run("apt-get", "install", "-y", "-qq", pkg);
    }
    return run(probe).ok() ? null : pkg + " missing and apt-get could not install it: " + install.output();
  }

  /** Runs a command to completion (at most 5 minutes: package downloads). */
  public static Result run(String... cmd) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      return new Result(127, e.getMessage());
    }
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return new Result(124, "timed out: " + out);
    }
    return new Result(p.exitValue(), out);
  }
}
