package io.longlink.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;

/**
 * A real {@code redis-server} (Debian's package, installed when missing and root) on a free
 * loopback port, with no persistence; stopped by {@link #close}.
 */
public final class RedisProcess implements AutoCloseable {
  public final int port;
  private final Path dir;
  private final boolean persistent;
  private Process process;

  private RedisProcess(int port, Path dir, boolean persistent) {
    this.port = port;
    this.dir = dir;
    this.persistent = persistent;
  }

  public static RedisProcess start(Path dir) throws Exception {
    return start(dir, false);
  }

  /** {@code persistent}: an append-only file synced on every write, so a restart keeps the data. */
  public static RedisProcess start(Path dir, boolean persistent) throws Exception {
    String missing = DebianPackages.ensure("redis-server", "redis-server", "--version");
    Assumptions.assumeTrue(missing == null, missing);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    RedisProcess r = new RedisProcess(port, dir, persistent);
    r.launch();
    return r;
  }

  /** Stops Redis (SIGKILL: no chance to save) and starts it again on the same port. */
  public void restartAfter(Runnable whileDown) throws Exception {
    process.destroyForcibly().waitFor();
    whileDown.run();
    launch();
  }

  private void launch() throws Exception {
    Path log = dir.resolve("redis-" + port + ".log");
    Process p = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", persistent ? "yes" : "no", "--appendfsync", "always",
        "--dir", dir.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    process = p;
    RedisProcess r = this;
    try {
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
        if (!p.isAlive()) {
          throw new IOException("redis-server exited: " + Files.readString(log));
        }
        try (Socket probe = new Socket("127.0.0.1", port)) {
          return true;
        } catch (IOException notYet) {
          return false;
        }
      });
    } catch (RuntimeException e) {
      r.close();
      throw e;
    }
  }

  public String uri() {
    return "redis://127.0.0.1:" + port;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
