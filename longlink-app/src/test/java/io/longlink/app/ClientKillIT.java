package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Abnormal client exit: client processes killed with SIGKILL leave nothing behind on the gateway:
 * their connections are gone at once, their detached sessions expire on time.
 */
class ClientKillIT {
  @TempDir Path dir;
  LonglinkServer server;
  final List<Process> processes = new ArrayList<>();

  @AfterEach
  void stop() {
    processes.forEach(Process::destroyForcibly);
    if (server != null) {
      server.close();
    }
  }

  @Test
  void killedClientsLeaveNothingBehind() throws Exception {
    Duration retention = Duration.ofSeconds(2);
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).sessionRetention(retention).build())
        .build().start();
    int baseline = server.stats().connections();
    String address = "127.0.0.1:" + server.localAddress().getPort();
    int n = 5;
    List<JarProcess> clients = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      JarProcess c = JarProcess.start(dir, "c" + i, List.of(), Map.of(), "client", "--id", "victim" + i, "--server",
          address, "--subscribe", "news", "--receive", "1000", "--timeout", "60s");
      processes.add(c.process());
      clients.add(c);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> server.stats().sessions() == n && server.stats().topics() == 1
        && server.stats().connections() == baseline + n);
    long killedAt = System.nanoTime();
    for (JarProcess c : clients) {
      c.process().destroyForcibly(); // SIGKILL: no CLOSE, no clean shutdown
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> server.stats().connections() == baseline);
    double connectionsFreed = (System.nanoTime() - killedAt) / 1e9;
    assertThat(server.stats().detachedSessions()).isEqualTo(n); // kept for resume, as promised
    await().atMost(retention.plusSeconds(5)).until(() -> server.stats().sessions() == 0 && server.stats().topics() == 0);
    double sessionsFreed = (System.nanoTime() - killedAt) / 1e9;
    System.out.println(String.format("kill-9: %d clients killed; connections back to baseline after %.2f s, detached "
        + "sessions and subscriptions gone after %.2f s (retention %d s)", n, connectionsFreed, sessionsFreed,
        retention.toSeconds()));
    assertThat(sessionsFreed).isGreaterThanOrEqualTo(retention.toMillis() / 1000.0 - 0.1); // not before retention
    assertThat(server.stats().detachedSessions()).isZero();
  }
}
