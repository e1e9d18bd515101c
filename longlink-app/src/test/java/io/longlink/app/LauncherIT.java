package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quickstart with the real runnable jar: a gateway process and two client processes,
 * exactly as a person would run them in three terminals.
 */
class LauncherIT {
  final List<Process> processes = new ArrayList<>();

  @TempDir Path dir;

  JarProcess start(String name, String... args) throws IOException {
    JarProcess p = JarProcess.start(dir, name, List.of(), Map.of(), args);
    processes.add(p.process());
    return p;
  }

  @AfterEach
  void kill() {
    processes.forEach(Process::destroyForcibly);
  }

  @Test
  void quickstartDeliversHelloFromAliceToBob() throws Exception {
    int port = CliTest.freePort();
    int admin = CliTest.freePort();
    JarProcess server = start("server", "server", "--port", String.valueOf(port), "--admin-port", String.valueOf(admin),
        "--ws-port", "-1", "--drain-spread", "1s", "--drain-timeout", "10s");
    await().atMost(Duration.ofSeconds(30)).until(() -> server.errContains("longlink gateway listening on 127.0.0.1:" + port)
        && server.errContains("admin API listening"));
    // This kernel (6.12+) takes the I/O threads' short slices; the launcher allows the system call.
    assertThat(server.errText()).contains(" I/O threads, 100 us scheduler slices").doesNotContain("restricted method");
    HttpResponse<String> health = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/healthz")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);

    String address = "127.0.0.1:" + port;
    JarProcess bob = start("bob", "client", "--id", "bob", "--server", address, "--receive", "1", "--json", "--timeout", "30s");
    await().atMost(Duration.ofSeconds(30)).until(() -> bob.errContains("connected as bob"));
    JarProcess alice = start("alice", "client", "--id", "alice", "--server", address, "--to", "bob", "--send", "hello");
    assertThat(alice.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(alice.process().exitValue()).as(alice.errText()).isZero();
    assertThat(bob.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(bob.process().exitValue()).as(bob.errText()).isZero();
    assertThat(bob.outLines()).containsExactly("{\"from\":\"alice\",\"to\":\"bob\",\"seq\":1,\"payload\":\"hello\"}");

    HttpResponse<String> ready = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/readyz")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);

    // SIGTERM drains: carol, still connected, is told to go elsewhere; the node exits 0 once she left.
    JarProcess carol = start("carol", "client", "--id", "carol", "--server", address, "--receive", "1", "--timeout", "60s");
    await().atMost(Duration.ofSeconds(30)).until(() -> carol.errContains("connected as carol"));
    server.process().destroy();
    assertThat(server.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(server.process().exitValue()).as(server.errText()).isZero();
    assertThat(server.errText()).contains("draining 1 connections").contains("1 of 1 connections left")
        .contains("longlink gateway on 127.0.0.1:" + port + " stopped");
    await().atMost(Duration.ofSeconds(10)).until(() -> carol.errContains("SERVER_SHUTDOWN"));
  }

  @Test
  void drainThroughTheAdminApiEndsTheProcessWithExitCodeZero() throws Exception {
    int port = CliTest.freePort();
    int admin = CliTest.freePort();
    JarProcess server = start("server", "server", "--port", String.valueOf(port), "--admin-port", String.valueOf(admin),
        "--ws-port", "-1", "--drain-spread", "0s", "--drain-timeout", "5s");
    await().atMost(Duration.ofSeconds(30)).until(() -> server.errContains("admin API listening"));
    HttpResponse<String> drain = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/v1/drain"))
            .POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(drain.statusCode()).as(drain.body()).isEqualTo(202);
    assertThat(server.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(server.process().exitValue()).as(server.errText()).isZero();
    assertThat(server.errText()).contains("draining 0 connections");
  }
}
