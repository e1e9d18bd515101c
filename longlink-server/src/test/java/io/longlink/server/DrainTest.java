package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.testing.FakeTicker;
import io.longlink.protocol.testing.RawClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Graceful drain over real sockets: buffered messages first, spread GOAWAYs, no new clients. */
class DrainTest {
  static final int CLIENTS = 200;
  static final int MESSAGES = 5;
  LonglinkServer server;
  final List<RawClient> clients = new ArrayList<>();

  @AfterEach
  void stop() throws IOException {
    for (RawClient c : clients) {
      c.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void clientsGetTheirMessagesThenSpreadGoawaysAndTheNodeTakesNoNewOnes() throws Exception {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build().start();
    InetSocketAddress a = server.localAddress();
    for (int i = 0; i < CLIENTS; i++) {
      clients.add(RawClient.login(a, "c" + i));
    }
    // Messages published before the drain: the clients have not read them yet.
    for (int i = 0; i < CLIENTS; i++) {
      for (int m = 0; m < MESSAGES; m++) {
        server.publishToClient("c" + i, ("m" + m).getBytes(StandardCharsets.UTF_8));
      }
    }
    CompletableFuture<LonglinkServer.DrainResult> drain = CompletableFuture.supplyAsync(() -> {
      try {
        return server.drain(Duration.ofSeconds(2), Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    List<Integer> delays = new ArrayList<>();
    for (RawClient c : clients) {
      List<String> got = new ArrayList<>();
      long lastSeq = 0;
      while (true) {
        Frame f = c.read();
        if (f instanceof Frame.Data d) {
          got.add(new String(d.payload(), StandardCharsets.UTF_8));
          lastSeq = d.seq();
        } else if (f instanceof Frame.GoAway g) {
          assertThat(g.code()).isEqualTo(ErrorCode.SERVER_SHUTDOWN);
          delays.add(g.reconnectDelayMs());
          break;
        }
      }
      assertThat(got).containsExactly("m0", "m1", "m2", "m3", "m4"); // all of them, before the GOAWAY
      c.send(new Frame.Ack(lastSeq)); // what a client does on GOAWAY: ack, then leave
      c.close();
    }
    LonglinkServer.DrainResult r = drain.get(15, TimeUnit.SECONDS);
    assertThat(r.connectionsAtStart()).isEqualTo(CLIENTS);
    assertThat(r.allLeft()).isTrue();
    assertThat(server.state()).isEqualTo(LonglinkServer.State.DRAINING);
    assertThatThrownBy(() -> RawClient.connect(a)).isInstanceOf(IOException.class); // not accepting any more
    // Reconnect delays spread over [0, 2000] ms: uniform, so both ends and the middle are used.
    assertThat(delays).hasSize(CLIENTS).allMatch(d -> d >= 0 && d <= 2000);
    assertThat(delays.stream().filter(d -> d < 500).count()).isBetween(20L, 90L);
    assertThat(delays.stream().filter(d -> d >= 1500).count()).isBetween(20L, 90L);
    assertThat(delays.stream().distinct().count()).isGreaterThan(CLIENTS / 2);
  }

  @Test
  void aDrainEndsAtItsTimeoutOnTheNodesClockWithTheClientsThatStayed() throws Exception {
    FakeTicker ticker = new FakeTicker();
    server = LonglinkServer.builder()
        .config(ServerConfig.builder().port(0).sweepInterval(Duration.ofMillis(20)).heartbeatInterval(Duration.ofMinutes(10))
            .build())
        .ticker(ticker).build().start();
    RawClient stays = RawClient.login(server.localAddress(), "stays"); // reads its GOAWAY but does not leave
    clients.add(stays);
    CompletableFuture<LonglinkServer.DrainResult> drain = CompletableFuture.supplyAsync(() -> {
      try {
        return server.drain(Duration.ZERO, Duration.ofMinutes(1));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThat(stays.readUntil(Frame.GoAway.class).code()).isEqualTo(ErrorCode.SERVER_SHUTDOWN);
    assertThat(drain).as("a minute on the node's clock has not passed").isNotDone();
    ticker.advance(Duration.ofSeconds(61)); // less than the heartbeat window: the client is not cut for silence
    LonglinkServer.DrainResult r = drain.get(10, TimeUnit.SECONDS); // the real clock moved a few milliseconds
    assertThat(r.allLeft()).isFalse();
    assertThat(r.connectionsLeft()).isEqualTo(1);
    assertThat(r.took()).isGreaterThanOrEqualTo(Duration.ofMinutes(1));
  }

  @Test
  void drainingTwiceOrBeforeStartIsRefused() throws Exception {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build();
    assertThatThrownBy(() -> server.drain(Duration.ZERO, Duration.ZERO)).hasMessageContaining("server is NEW");
    server.start();
    assertThat(server.drain(Duration.ZERO, Duration.ofSeconds(1)).allLeft()).isTrue(); // nobody connected
    assertThatThrownBy(() -> server.drain(Duration.ZERO, Duration.ZERO)).hasMessageContaining("server is DRAINING");
  }

  @Test
  void readinessFollowsTheDrainWhileLivenessStaysUp() throws Exception {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build().start();
    try (io.longlink.server.admin.AdminServer admin = io.longlink.server.admin.AdminServer.start(server, "127.0.0.1", 0)) {
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      java.util.function.Function<String, java.net.http.HttpResponse<String>> get = path -> {
        try {
          return http.send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + admin.address().getPort() + path)).build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
          throw new IllegalStateException(e);
        }
      };
      assertThat(get.apply("/readyz").statusCode()).isEqualTo(200);
      assertThat(server.dataPathWorks()).isTrue();
      assertThat(server.stats().sessions()).isZero(); // the probe session does not outlive the probe
      server.drain(Duration.ZERO, Duration.ofSeconds(1));
      java.net.http.HttpResponse<String> ready = get.apply("/readyz");
      assertThat(ready.statusCode()).isEqualTo(503);
      assertThat(ready.body()).contains("draining");
      assertThat(server.dataPathWorks()).isFalse(); // a draining node takes no new sessions
      assertThat(get.apply("/healthz").statusCode()).isEqualTo(200); // alive: do not kill a draining node
      // Without a drain action wired (embedded use), POST /v1/drain is refused rather than ignored.
      java.net.http.HttpResponse<String> drain = http.send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + admin.address().getPort() + "/v1/drain"))
          .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(drain.statusCode()).isEqualTo(409);
    }
  }

  @Test
  void shedMovesTheAskedShareAwayWithSpreadDelaysAndKeepsTheRest() throws Exception {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build().start();
    InetSocketAddress a = server.localAddress();
    for (int i = 0; i < 40; i++) {
      clients.add(RawClient.login(a, "s" + i));
    }
    try (io.longlink.server.admin.AdminServer admin = io.longlink.server.admin.AdminServer.start(server, "127.0.0.1", 0)) {
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      java.util.function.Function<String, java.net.http.HttpResponse<String>> post = body -> {
        try {
          return http.send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + admin.address().getPort() + "/v1/shed"))
              .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
          throw new IllegalStateException(e);
        }
      };
      assertThat(post.apply("{\"fraction\": 2}").statusCode()).isEqualTo(400); // named, not guessed
      assertThat(post.apply("not json").statusCode()).isEqualTo(400);
      java.net.http.HttpResponse<String> r = post.apply("{\"fraction\": 0.25, \"spreadMs\": 5000}");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).contains("\"shed\":10").contains("\"connections\":40");
    }
    // Collect the GOAWAYs as they come (the shed returns once they are queued, not written).
    java.util.Set<RawClient> told = new java.util.HashSet<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (told.size() < 10 && System.nanoTime() < deadline) {
      for (RawClient c : clients) {
        if (told.contains(c)) {
          continue;
        }
        c.setReadTimeout(Duration.ofMillis(20));
        try {
          Frame f = c.read();
          assertThat(f).isInstanceOf(Frame.GoAway.class);
          assertThat(((Frame.GoAway) f).reconnectDelayMs()).isBetween(0, 5000);
          told.add(c);
        } catch (java.net.SocketTimeoutException e) {
          // not (yet) picked
        }
      }
    }
    for (RawClient c : clients) { // and nobody else hears anything
      if (!told.contains(c)) {
        c.setReadTimeout(Duration.ofMillis(20));
        assertThatThrownBy(c::read).isInstanceOf(java.net.SocketTimeoutException.class);
      }
    }
    assertThat(told).hasSize(10);
    assertThat(server.state()).isEqualTo(LonglinkServer.State.RUNNING);
    try (RawClient newcomer = RawClient.login(a, "newcomer")) {
      assertThat(newcomer).isNotNull(); // still accepting
    }
  }
}
