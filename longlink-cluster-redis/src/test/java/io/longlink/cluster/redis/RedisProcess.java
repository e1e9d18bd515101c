package io.longlink.cluster.redis;

import io.longlink.testing.DebianPackages;
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
final class RedisProcess implements AutoCloseable {
  final int port;
  private final Process process;

  private RedisProcess(int port, Process process) {
    this.port = port;
    this.process = process;
  }

  static RedisProcess start(Path dir) throws Exception {
    String missing = DebianPackages.ensure("redis-server", "redis-server", "--version");
    Assumptions.assumeTrue(missing == null, missing);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path log = dir.resolve("redis-" + port + ".log");
    Process p = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", dir.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    RedisProcess r = new RedisProcess(port, p);
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
    return r;
  }

  String uri() {
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
