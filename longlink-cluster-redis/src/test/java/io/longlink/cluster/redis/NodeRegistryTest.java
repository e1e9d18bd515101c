package io.longlink.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.admin.AdminServer;
import io.longlink.protocol.testing.RawClient;
import io.longlink.server.spi.NodeInfo;
import io.longlink.testing.Closer;
import io.longlink.testing.RedisProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Three gateway nodes find each other through a real Redis; nodes that stop, die or drain show so. */
class NodeRegistryTest {
  static final Duration TTL = Duration.ofMillis(900);
  @RegisterExtension final Closer open = new Closer();

  LonglinkServer node(RedisProcess redis, String id) {
    LonglinkServer s = LonglinkServer.builder().config(ServerConfig.builder().port(0).build())
        .cluster(RedisNodeRegistry.connect(redis.uri(), "test", TTL), id, "", "").build().start();
    open.add(s);
    return s;
  }

  static List<String> ids(List<NodeInfo> nodes) {
    return nodes.stream().map(NodeInfo::id).sorted().collect(Collectors.toList());
  }

  @Test
  void nodesListEachOtherAndDrainingOrGoneNodesShowSo(@TempDir Path dir) throws Exception {
    RedisProcess redis = RedisProcess.start(dir);
    open.add(redis);
    LonglinkServer a = node(redis, "a");
    LonglinkServer b = node(redis, "b");
    LonglinkServer c = node(redis, "c");
    AdminServer admin = AdminServer.start(a, "127.0.0.1", 0);
    open.add(admin);
    assertThat(ids(a.nodes())).containsExactly("a", "b", "c");
    JsonNode listed = new ObjectMapper().readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + admin.address().getPort() + "/v1/nodes")).build(),
        HttpResponse.BodyHandlers.ofString()).body());
    assertThat(listed.get("self").asText()).isEqualTo("a");
    assertThat(listed.get("nodes")).hasSize(3);
    assertThat(listed.get("nodes").findValuesAsText("clientAddress")).contains(
        "127.0.0.1:" + b.localAddress().getPort());

    // Load shows up at the next announcement, and load shedding sends clients to the least-loaded running node.
    RawClient onA = RawClient.login(a.localAddress(), "x");
    open.add(onA);
    RawClient onB = RawClient.login(b.localAddress(), "y");
    open.add(onB);
    await().atMost(Duration.ofSeconds(5)).until(() -> a.nodes().stream().filter(n -> n.connections() == 1).count() == 2);
    assertThat(a.shed(1, Duration.ZERO)).isEqualTo(1);
    Frame.GoAway away = onA.readUntil(Frame.GoAway.class);
    assertThat(away.code()).isEqualTo(ErrorCode.SERVER_SHUTDOWN);
    assertThat(away.alternativeEndpoint()).isEqualTo("127.0.0.1:" + c.localAddress().getPort());

    // A clean stop withdraws at once; a node that dies without a word drops out after its time-to-live.
    b.close();
    assertThat(ids(a.nodes())).containsExactly("a", "c");
    try (RedisNodeRegistry ghost = RedisNodeRegistry.connect(redis.uri(), "test", TTL)) {
      ghost.announce(new NodeInfo("ghost", "127.0.0.1:1", "", 0, "RUNNING", System.currentTimeMillis()));
      assertThat(ids(a.nodes())).contains("ghost");
    } // closed without withdrawing: a kill -9
    await().atMost(Duration.ofSeconds(5)).until(() -> !ids(a.nodes()).contains("ghost"));

    // A draining node is listed as such, and nobody sends clients to it.
    Thread drain = Thread.ofPlatform().start(() -> {
      try {
        c.drain(Duration.ZERO, Duration.ofSeconds(2));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    await().atMost(Duration.ofSeconds(5)).until(() -> a.nodes().stream().anyMatch(n -> n.id().equals("c")
        && n.state().equals("DRAINING")));
    drain.join(10_000);
  }

  @Test
  void withRedisGoneTheNodeKeepsServingAndSaysWhyItCannotList(@TempDir Path dir) throws Exception {
    RedisProcess redis = RedisProcess.start(dir);
    LonglinkServer a = node(redis, "a");
    AdminServer admin = AdminServer.start(a, "127.0.0.1", 0);
    open.add(admin);
    redis.close();
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + admin.address().getPort() + "/v1/nodes")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).contains("cluster registry unavailable");
    // Announcements now fail (each after Lettuce's 2 s timeout) on their own thread: clients see nothing of it.
    long worstNanos = 0;
    List<RawClient> clients = new ArrayList<>();
    try {
      for (int c = 0; c < 4; c++) { // connections land on both event loops
        clients.add(RawClient.login(a.localAddress(), "still-served-" + c));
      }
      // A probe round every 300 ms, 12 rounds (~4 s): spans several failed announcements.
      long[] worst = {0};
      int[] round = {0};
      await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(300)).atMost(Duration.ofSeconds(30)).until(() -> {
        int i = ++round[0];
        for (RawClient local : clients) {
          long t0 = System.nanoTime();
          local.send(new Frame.Ping(i));
          assertThat(local.readUntil(Frame.Pong.class).timestamp()).isEqualTo(i);
          worst[0] = Math.max(worst[0], System.nanoTime() - t0);
        }
        return i >= 12;
      });
      worstNanos = worst[0];
    } finally {
      for (RawClient c : clients) {
        c.close();
      }
    }
    assertThat(worstNanos / 1e6).as("slowest ping while Redis is gone, ms").isLessThan(500);
  }
}
