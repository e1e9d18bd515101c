package io.longlink.cluster.redis;

import io.longlink.testing.DebianPackages;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;

/**
 * A Redis Cluster of three masters (Debian's {@code redis-server}, joined by {@code redis-cli
 * --cluster create}) on free loopback ports, without persistence; stopped by {@link #close}.
 */
final class RedisClusterProcess implements AutoCloseable {
  private final List<Process> masters = new ArrayList<>();
  private final List<Integer> ports = new ArrayList<>();

  static RedisClusterProcess start(Path dir) throws Exception {
    String missing = DebianPackages.ensure("redis-server", "redis-server", "--version");
    Assumptions.assumeTrue(missing == null, missing);
    RedisClusterProcess c = new RedisClusterProcess();
    try {
      for (int i = 0; i < 3; i++) {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
          port = s.getLocalPort();
        }
        Path nodeDir = Files.createDirectories(dir.resolve("redis-cluster-" + port));
        c.ports.add(port);
        c.masters.add(new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no",
            "--dir", nodeDir.toString())
            .redirectErrorStream(true).redirectOutput(nodeDir.resolve("redis.log").toFile()).start());
      }
      for (int port : c.ports) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> run("redis-cli", "-p", Integer.toString(port), "ping")
            .contains("PONG"));
      }
      List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
      for (int port : c.ports) {
        create.add("127.0.0.1:" + port);
      }
      create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
      String out = run(create.toArray(String[]::new));
      if (!out.contains("[OK] All 16384 slots covered")) {
        throw new IllegalStateException("redis-cli --cluster create failed: " + out);
      }
      for (int port : c.ports) {
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
            run("redis-cli", "-p", Integer.toString(port), "cluster", "info").contains("cluster_state:ok"));
      }
    } catch (Exception | Error e) {
      c.close();
      throw e;
    }
    return c;
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor();
    return out;
  }

  /** Seed nodes for Lettuce's cluster client. */
  String uri() {
    StringBuilder b = new StringBuilder("redis-cluster://");
    for (int i = 0; i < ports.size(); i++) {
      b.append(i == 0 ? "" : ",").append("127.0.0.1:").append(ports.get(i));
    }
    return b.toString();
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : masters) {
      p.destroy();
    }
    for (Process p : masters) {
      if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
      }
    }
  }
}
