package io.longlink.server.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.TargetKind;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.protocol.testing.RawClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every admin endpoint over HTTP, with good and bad input, and the metrics across a scripted scenario. */
class AdminApiTest {
  final HttpClient http = HttpClient.newHttpClient();
  final List<AutoCloseable> open = new ArrayList<>();
  LonglinkServer server;
  AdminServer admin;

  void start(String token) throws IOException {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).heartbeatInterval(Duration.ofSeconds(1)).heartbeatMisses(10)
        .build()).build().start();
    admin = AdminServer.start(server, "127.0.0.1", 0, token);
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    if (admin != null) {
      admin.close();
    }
    if (server != null) {
      server.close();
    }
  }

  HttpResponse<String> call(String method, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.address().getPort() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  JsonNode json(HttpResponse<String> r) throws IOException {
    return AdminServer.JSON.readTree(r.body());
  }

  JsonNode stats() throws Exception {
    HttpResponse<String> r = call("GET", "/v1/stats", null);
    assertThat(r.statusCode()).isEqualTo(200);
    return json(r);
  }

  /** The value of one Prometheus sample line, e.g. {@code longlink_messages_in_total}. */
  double metric(String sample) throws Exception {
    String body = call("GET", "/metrics", null).body();
    for (String line : body.split("\n")) {
      if (line.startsWith(sample + " ")) {
        return Double.parseDouble(line.substring(sample.length() + 1).trim());
      }
    }
    throw new AssertionError("no sample " + sample + " in /metrics");
  }

  RawClient login(String id) throws IOException {
    RawClient c = RawClient.login(server.localAddress(), id);
    open.add(c);
    return c;
  }

  @Test
  void metricsFollowAScriptedScenario() throws Exception {
    start(null);
    assertThat(metric("longlink_connections_open")).isZero();
    RawClient alice = RawClient.connect(server.localAddress());
    open.add(alice);
    alice.send(Frame.Hello.newSession("alice", ""));
    String aliceSession = alice.readUntil(Frame.Welcome.class).sessionId();
    RawClient bob = login("bob");
    assertThat(metric("longlink_connections_open")).isEqualTo(2);
    assertThat(metric("longlink_sessions{state=\"attached\"}")).isEqualTo(2);
    assertThat(metric("longlink_handshakes_total{result=\"ok\",session=\"new\"}")).isEqualTo(2);

    // heartbeat: the gateway samples round trips with its own PINGs, which a client answers
    Frame.Ping ping = bob.readUntil(Frame.Ping.class);
    bob.send(new Frame.Pong(ping.timestamp()));
    await().until(() -> metric("longlink_heartbeat_rtt_seconds_count") >= 1);

    // a message
    alice.send(new Frame.Data(1, TargetKind.CLIENT, "bob", "", "hi".getBytes(StandardCharsets.UTF_8)));
    assertThat(bob.readUntil(Frame.Data.class).from()).isEqualTo("alice");
    await().until(() -> metric("longlink_messages_in_total") == 1 && metric("longlink_messages_out_total") == 1);
    assertThat(metric("longlink_received_bytes_total")).isPositive();
    // bob has it but has not acknowledged it: it sits in his replay buffer until he does
    assertThat(metric("longlink_replay_buffer_messages")).isEqualTo(1);
    assertThat(metric("longlink_replay_buffer_bytes")).isGreaterThan(2);
    bob.send(new Frame.Ack(1));
    await().until(() -> metric("longlink_replay_buffer_messages") == 0 && metric("longlink_replay_buffer_bytes") == 0);

    // kill: alice's process dies (the kernel sends FIN, no CLOSE frame); her session waits for her
    alice.close();
    await().until(() -> metric("longlink_connection_closes_total{reason=\"peer_gone\"}") == 1);
    assertThat(metric("longlink_sessions{state=\"detached\"}")).isEqualTo(1);

    // resume
    RawClient back = RawClient.connect(server.localAddress());
    open.add(back);
    back.send(new Frame.Hello(Frame.VERSION, "alice", "", aliceSession, 0, 2));
    back.readUntil(Frame.Welcome.class);
    assertThat(metric("longlink_resumes_total{result=\"ok\"}")).isEqualTo(1);
    assertThat(metric("longlink_reconnects_total")).isEqualTo(1);
    assertThat(metric("longlink_handshakes_total{result=\"ok\",session=\"resumed\"}")).isEqualTo(1);
    assertThat(metric("longlink_sessions{state=\"attached\"}")).isEqualTo(2);

    // a bad client: counted by reason, both as a failed handshake and as a close
    RawClient bad = RawClient.connect(server.localAddress());
    open.add(bad);
    bad.send(new Frame.Ping(1));
    bad.readUntil(Frame.Error.class);
    await().until(() -> metric("longlink_handshakes_failed_total{reason=\"unexpected_frame\"}") == 1);
    assertThat(metric("longlink_connection_closes_total{reason=\"protocol_error\"}")).isEqualTo(1);
    assertThat(call("GET", "/metrics", null).body()).contains("jvm_memory_used_bytes").contains("netty_allocator_memory_used")
        .contains("longlink_event_loop_pending_tasks");
    // the liveness sweeps, once a second at least turning the window on each of the two loops
    await().until(() -> metric("longlink_liveness_sweeps_total{kind=\"window\"}") >= 2);
    assertThat(metric("longlink_liveness_sweep_seconds_total{kind=\"window\"}")).isPositive();

    JsonNode s = stats();
    assertThat(s.at("/connections").asLong()).isEqualTo(2);
    assertThat(s.at("/messages/in").asLong()).isEqualTo(1);
    assertThat(s.at("/closes/peer_gone").asLong()).isEqualTo(1);
    assertThat(s.at("/resumes/ok").asLong()).isEqualTo(1);
    assertThat(s.at("/heartbeatRtt/count").asLong()).isPositive();
  }

  @Test
  void sessionsCanBeListedLookedUpAndKicked() throws Exception {
    start(null);
    RawClient carol = login("carol");
    login("dave");
    JsonNode list = json(call("GET", "/v1/sessions", null));
    assertThat(list.get("count").asInt()).isEqualTo(2);
    JsonNode one = json(call("GET", "/v1/sessions?clientId=carol", null)).get("sessions").get(0);
    assertThat(one.get("clientId").asText()).isEqualTo("carol");
    assertThat(one.get("state").asText()).isEqualTo("ATTACHED");
    assertThat(one.get("remoteAddress").asText()).contains("127.0.0.1");
    assertThat(one.get("connectedSince").asText()).isNotEmpty();
    String id = one.get("sessionId").asText();
    assertThat(json(call("GET", "/v1/sessions/" + id, null)).get("clientId").asText()).isEqualTo("carol");
    assertThat(json(call("GET", "/v1/sessions?limit=1", null)).get("count").asInt()).isEqualTo(1);

    HttpResponse<String> kicked = call("DELETE", "/v1/sessions/" + id + "?reason=abuse", null);
    assertThat(kicked.statusCode()).isEqualTo(200);
    Frame.GoAway g = carol.readUntil(Frame.GoAway.class);
    assertThat(g.code()).isEqualTo(ErrorCode.KICKED);
    assertThat(g.reason()).isEqualTo("abuse");
    await().until(() -> server.stats().sessions() == 1);

    assertThat(call("GET", "/v1/sessions/" + id, null).statusCode()).isEqualTo(404);
    assertThat(json(call("DELETE", "/v1/sessions/" + id, null)).get("error").asText()).contains("no session");
    assertThat(call("GET", "/v1/sessions/not-an-id", null).statusCode()).isEqualTo(404);
    assertThat(call("GET", "/v1/sessions?limit=-3", null).statusCode()).isEqualTo(400);
    assertThat(call("PUT", "/v1/sessions/" + id, null).statusCode()).isEqualTo(405);
  }

  /**
   * A topic message sits in each subscriber's replay buffer, and in the node's totals, until that
   * subscriber acknowledges it.
   */
  @Test
  void aTopicMessageIsBufferedOncePerSubscriberUntilEachAcknowledges() throws Exception {
    start(null);
    List<RawClient> subscribers = new ArrayList<>();
    for (String id : List.of("s1", "s2", "s3")) {
      RawClient s = login(id);
      s.send(new Frame.Subscribe(1, "news"));
      assertThat(s.readUntil(Frame.Ack.class).seq()).isEqualTo(1);
      subscribers.add(s);
    }
    RawClient publisher = login("publisher");
    publisher.send(new Frame.Data(1, TargetKind.TOPIC, "news", "", "hello".getBytes(StandardCharsets.UTF_8)));
    for (RawClient s : subscribers) {
      Frame.Data d = s.readUntil(Frame.Data.class);
      assertThat(d.seq()).isEqualTo(1);
      assertThat(d.from()).isEqualTo("publisher");
    }
    await().until(() -> metric("longlink_replay_buffer_messages") == 3);
    double bytes = metric("longlink_replay_buffer_bytes");
    assertThat(bytes).isPositive();
    assertThat(bytes % 3).isZero(); // the same message in three buffers
    for (int acked = 1; acked <= 3; acked++) {
      subscribers.get(acked - 1).send(new Frame.Ack(1));
      int left = 3 - acked;
      await().until(() -> metric("longlink_replay_buffer_messages") == left
          && metric("longlink_replay_buffer_bytes") == bytes * left / 3);
    }
  }

  @Test
  void publishDeliversAndRejectsBadBodies() throws Exception {
    start(null);
    RawClient erin = login("erin");
    HttpResponse<String> ok = call("POST", "/v1/publish", "{\"to\":\"erin\",\"payload\":\"from the backend\"}");
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(json(ok).get("sessions").asInt()).isEqualTo(1);
    Frame.Data d = erin.readUntil(Frame.Data.class);
    assertThat(new String(d.payload(), StandardCharsets.UTF_8)).isEqualTo("from the backend");
    assertThat(d.from()).isEmpty();
    assertThat(json(call("POST", "/v1/publish", "{\"topic\":\"news\",\"payloadBase64\":\"AAE=\"}")).get("sessions")
        .asInt()).isZero();

    HttpResponse<String> malformed = call("POST", "/v1/publish", "{not json");
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(json(malformed).get("error").asText()).contains("not JSON");
    assertThat(call("POST", "/v1/publish", "{\"to\":\"erin\"}").statusCode()).isEqualTo(400);
    assertThat(call("POST", "/v1/publish", "{\"to\":\"erin\",\"topic\":\"x\",\"payload\":\"\"}").statusCode())
        .isEqualTo(400);
    assertThat(call("POST", "/v1/publish", "{\"to\":\"erin\",\"payloadBase64\":\"%%%\"}").statusCode()).isEqualTo(400);
    HttpResponse<String> huge = call("POST", "/v1/publish", "{\"to\":\"erin\",\"payload\":\"" + "x".repeat(70_000) + "\"}");
    assertThat(huge.statusCode()).isEqualTo(413);
    assertThat(json(huge).get("error").asText()).contains("larger than 65536");
    assertThat(call("GET", "/v1/publish", null).statusCode()).isEqualTo(405);
    assertThat(call("GET", "/nope", null).statusCode()).isEqualTo(404);
  }

  @Test
  void aTokenGuardsEverythingButTheProbes() throws Exception {
    start("s3cret");
    assertThat(call("GET", "/healthz", null).statusCode()).isEqualTo(200);
    assertThat(call("GET", "/v1/stats", null).statusCode()).isEqualTo(401);
    assertThat(call("GET", "/metrics", null, "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
    assertThat(call("GET", "/v1/stats", null, "Authorization", "Bearer s3cret").statusCode()).isEqualTo(200);
    assertThat(call("GET", "/v1/stats?token=s3cret", null).statusCode()).isEqualTo(200);
    assertThat(call("GET", "/", null, "Authorization", "Bearer s3cret").body()).contains("<canvas");
  }

  /** {@code /demo} fills in where the gateway's WebSocket listener is, as the browser reached this API; nothing else is served. */
  @Test
  void theDemoPageLearnsTheWebSocketUrl() throws Exception {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0)
        .webSocket(io.longlink.server.WebSocketOptions.on(0)).build()).build().start();
    admin = AdminServer.start(server, "127.0.0.1", 0, null);
    HttpResponse<String> page = call("GET", "/demo", null);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    assertThat(page.body()).contains("content=\"ws://127.0.0.1:" + server.webSocketAddress().getPort() + "/longlink\"");
    assertThat(call("GET", "/demo/sdk/missing.js", null).statusCode()).isEqualTo(404);
    assertThat(call("GET", "/demo/../dashboard.html", null).statusCode()).isEqualTo(404);
    assertThat(call("GET", "/demo/sdk/../../io/longlink/server/admin/dashboard.html", null).statusCode()).isEqualTo(404);
    assertThat(call("POST", "/demo", "").statusCode()).isEqualTo(405);
  }

  @Test
  void theDemoPageSaysWhenTheWebSocketListenerIsOff() throws Exception {
    start(null);
    assertThat(call("GET", "/demo", null).body()).contains("content=\"\"");
  }

  @Test
  void refusesToServeBeyondLoopbackWithoutAToken() throws Exception {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build().start();
    assertThatThrownBy(() -> AdminServer.start(server, "0.0.0.0", 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0.0.0.0 is reachable from other machines");
  }

  /** A page on another site cannot drain, shed, kick or publish, and a rebound DNS name reads nothing. */
  @Test
  void browsersCrossSiteRequestsAndRebindingNamesAreRefused() throws Exception {
    start(null);
    String drain = "{\"to\":\"nobody\",\"payload\":\"x\"}";
    assertThat(call("POST", "/v1/publish", drain, "Origin", "https://evil.example").statusCode()).isEqualTo(403);
    assertThat(call("POST", "/v1/publish", drain, "Sec-Fetch-Site", "cross-site").statusCode()).isEqualTo(403);
    assertThat(call("DELETE", "/v1/sessions/x", null, "Origin", "null").statusCode()).isEqualTo(403);
    assertThat(call("POST", "/v1/shed", "{\"count\":0}", "Origin", "http://127.0.0.1:1").statusCode()).isEqualTo(403);
    // The dashboard's own page (same origin) and curl (no Origin) are served.
    int port = admin.address().getPort();
    assertThat(call("POST", "/v1/publish", drain, "Origin", "http://127.0.0.1:" + port).statusCode()).isEqualTo(200);
    assertThat(call("POST", "/v1/publish", drain).statusCode()).isEqualTo(200);
    // A DNS name pointed at 127.0.0.1 by its owner: the Host header gives it away.
    for (String host : List.of("evil.example:" + port, "localhost.evil.example")) {
      try (java.net.Socket sock = new java.net.Socket("127.0.0.1", port)) {
        sock.getOutputStream().write(("GET /v1/stats HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        String answer = new String(sock.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(answer).startsWith("HTTP/1.1 403").contains("loopback");
      }
    }
    assertThat(call("GET", "/v1/stats", null).statusCode()).isEqualTo(200);
  }
}
