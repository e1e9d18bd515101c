package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.longlink.testing.Closer;
import io.longlink.client.ClientListener;
import io.longlink.client.LonglinkClient;
import io.longlink.client.ReceivedMessage;
import io.longlink.testing.RedisProcess;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Presence across a cluster of two real {@code longlink server} processes on a real Redis: both
 * nodes answer {@code GET /v1/presence/alice} alike, and when one is killed with {@code kill -9} its
 * devices go offline within the presence lease, exactly one offline event per session, while the
 * other node's device stays online.
 */
class DevicesClusterIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();
  @RegisterExtension final Closer open = new Closer();
  final List<Process> processes = new ArrayList<>();

  @AfterEach
  void stop() {
    processes.forEach(Process::destroyForcibly);
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  record Node(JarProcess process, int port, int adminPort) {
    InetSocketAddress address() {
      return new InetSocketAddress("127.0.0.1", port);
    }

    JsonNode presence(String principal) throws Exception {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
          + "/v1/presence/" + principal)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      return JSON.readTree(r.body());
    }

    JsonNode stats() throws Exception {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
          + "/v1/stats")).build(), HttpResponse.BodyHandlers.ofString());
      return JSON.readTree(r.body());
    }
  }

  Node node(Path dir, String redis, String id) throws Exception {
    int port = freePort();
    int admin = freePort();
    JarProcess p = JarProcess.start(dir, id, List.of(), Map.of(), "server", "--port", Integer.toString(port),
        "--admin-port", Integer.toString(admin), "--ws-port", "-1", "--redis", redis, "--node-id", id,
        "--presence-topic", "presence/{principal}", "--presence-lease", "3s", "--presence-grace", "1s");
    processes.add(p.process());
    await().atMost(Duration.ofSeconds(60)).until(() -> p.errContains("listening on")
        || p.outLines().stream().anyMatch(l -> l.contains("listening on")));
    return new Node(p, port, admin);
  }

  LonglinkClient client(String id, String device, InetSocketAddress at, ClientListener listener) throws Exception {
    LonglinkClient.Builder b = LonglinkClient.builder().endpoint(at).clientId(id)
        .backoff(Duration.ofMillis(50), Duration.ofMillis(200));
    if (device != null) {
      b.deviceId(device);
    }
    if (listener != null) {
      b.listener(listener);
    }
    LonglinkClient c = b.build();
    open.add(c);
    c.connect().get(20, TimeUnit.SECONDS);
    return c;
  }

  static List<String> devices(JsonNode presence) {
    List<String> out = new ArrayList<>();
    presence.get("devices").forEach(d -> out.add(d.get("device").asText() + "@" + d.get("node").asText()));
    out.sort(null);
    return out;
  }

  @Test
  void aKilledNodesDevicesGoOfflineWithinTheLeaseOnceEach(@TempDir Path dir) throws Exception {
    RedisProcess redis = RedisProcess.start(dir);
    open.add(redis);
    Node a = node(dir, redis.uri(), "a");
    Node b = node(dir, redis.uri(), "b");
    List<String> events = new CopyOnWriteArrayList<>();
    LonglinkClient watcher = client("watcher", null, b.address(), new ClientListener() {
      @Override
      public void onMessage(ReceivedMessage m) {
        try {
          JsonNode e = JSON.readTree(m.payload());
          events.add(e.get("event").asText() + " " + e.get("device").asText() + "@" + e.get("node").asText());
        } catch (java.io.IOException e) {
          throw new IllegalStateException(e);
        }
      }
    });
    watcher.subscribe("presence/alice").get(10, TimeUnit.SECONDS);
    client("alice", "phone", a.address(), null);
    client("alice", "tablet", a.address(), null);
    client("alice", "laptop", b.address(), null);
    await().atMost(Duration.ofSeconds(10)).until(() -> events.size() == 3);
    assertThat(events).containsExactlyInAnyOrder("online phone@a", "online tablet@a", "online laptop@b");
    List<String> all = List.of("laptop@b", "phone@a", "tablet@a");
    assertThat(devices(a.presence("alice"))).as("the nodes agree").isEqualTo(all);
    assertThat(devices(b.presence("alice"))).isEqualTo(all);
    await().atMost(Duration.ofSeconds(10)).until(() -> b.stats().at("/online/clusterSessions").asLong() == 3);
    assertThat(b.stats().at("/online/clusterUsers").asLong()).isEqualTo(1);
    assertThat(b.stats().at("/online/sessions").asLong()).isEqualTo(1);

    long killedAt = System.nanoTime();
    a.process().process().destroyForcibly(); // SIGKILL: no goodbye, its presence stays until its lease runs out
    a.process().process().waitFor(10, TimeUnit.SECONDS);
    // The lease is 3 s, renewed every 1 s: gone within 3 s of the last renewal, found on b's next one.
    await().atMost(Duration.ofSeconds(8)).until(() -> events.size() == 5);
    double seconds = (System.nanoTime() - killedAt) / 1e9;
    System.out.printf("presence: kill -9 of node a: its 2 devices offline after %.2f s (lease 3 s)%n", seconds);
    assertThat(events.subList(3, 5)).containsExactlyInAnyOrder("offline phone@a", "offline tablet@a");
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(() -> events.size() == 5);
    assertThat(devices(b.presence("alice"))).isEqualTo(List.of("laptop@b"));
    assertThat(b.stats().at("/online/clusterSessions").asLong()).isEqualTo(1);
  }
}
