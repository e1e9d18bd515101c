package io.longlink.app.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.longlink.chaos.ChaosProxy;
import io.longlink.chaos.Toxic;
import io.longlink.client.ClientListener;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.ReceivedMessage;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.WebSocketOptions;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TypeScript SDK in headless Chromium against a real gateway, its WebSocket connection through
 * the chaos proxy, talking to a Java SDK client whose TCP connection goes through another: 10,000
 * messages each way across resets, mid-frame closes and blackholes, a socket the page kills itself,
 * then an absence longer than the session's retention.
 */
class BrowserSdkTest {
  static final int N = 10_000;
  static final int MIN_CUTS = 20;

  LonglinkServer server;
  ChaosProxy wsProxy;
  ChaosProxy tcpProxy;
  HttpServer http;
  LonglinkClient java;
  final AtomicInteger cuts = new AtomicInteger();
  final AtomicInteger blackholes = new AtomicInteger();

  @AfterEach
  void stop() {
    if (java != null) {
      java.close();
    }
    for (AutoCloseable c : new AutoCloseable[] {wsProxy, tcpProxy, server}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    if (http != null) {
      http.stop(0);
    }
  }

  @Test
  void tenThousandMessagesEachWayBetweenABrowserAndAJavaClientThroughCutsArriveExactlyOnceInOrder(@TempDir Path dir)
      throws Exception {
    Browser.assumeReady();
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).webSocket(WebSocketOptions.on(0))
        .replayBufferMessages(20_000).heartbeatInterval(Duration.ofMillis(200)).heartbeatMisses(2)
        .backoffInitial(Duration.ofMillis(5)).backoffMax(Duration.ofMillis(50))
        .sessionRetention(Duration.ofSeconds(4)).build()).build().start();
    wsProxy = proxyTo(server.webSocketAddress());
    tcpProxy = proxyTo(server.localAddress());
    List<String> atJava = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Void> browserSpoke = new CompletableFuture<>();
    java = LonglinkClient.builder().endpoint(tcpProxy.address()).clientId("java").maxPending(20_000, 64 << 20)
        .backoff(Duration.ofMillis(5), Duration.ofMillis(50)).listener(new ClientListener() {
          @Override
          public void onMessage(ReceivedMessage m) {
            atJava.add(m.payloadText());
            browserSpoke.complete(null);
          }
        }).build();
    java.connect().get(10, TimeUnit.SECONDS);
    startHttp(() -> server.sessions("browser", 1).isEmpty());

    AtomicBoolean done = new AtomicBoolean();
    ScheduledExecutorService cutter = Executors.newSingleThreadScheduledExecutor();
    cutter.scheduleWithFixedDelay(() -> {
      if (!done.get()) {
        randomFault();
      }
    }, 50, 80, TimeUnit.MILLISECONDS);
    CompletableFuture<JsonNode> page = CompletableFuture.supplyAsync(() -> {
      try {
        return Browser.drive(dir, 240_000, "page", httpBase() + "/e2e.html?n=" + N + "&cuts=" + MIN_CUTS + "&ws="
            + "ws://127.0.0.1:" + wsProxy.address().getPort() + server.config().webSocket().path());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    JsonNode result;
    try {
      // Once the browser spoke its session exists, and what Java sends has a recipient (unless the page failed first).
      CompletableFuture.anyOf(browserSpoke, page).get(60, TimeUnit.SECONDS);
      if (!page.isDone()) {
        pump();
        await().atMost(Duration.ofSeconds(120)).until(() -> atJava.size() >= N || page.isDone());
      }
      done.set(true);
      result = page.get(240, TimeUnit.SECONDS);
    } finally {
      done.set(true);
      cutter.shutdownNow();
    }
    System.out.println("browser reliability: " + result + "; faults " + cuts.get() + " (blackholes " + blackholes.get()
        + "), gateway resumes " + server.stats().resumed());
    assertThat(result.path("error").isMissingNode()).as(result.path("error").asText()).isTrue();
    JsonNode p1 = result.get("phase1");
    assertThat(p1.get("toBrowser").toString()).isEqualTo(
        "{\"delivered\":" + N + ",\"lost\":0,\"duplicated\":0,\"reordered\":0}");
    assertThat(audit(atJava.subList(0, N), "b")).isEqualTo(List.of(N, 0, 0, 0));
    assertThat(p1.get("sendFailures").asInt()).isZero();
    assertThat(p1.get("sessionKept").asBoolean()).as("one session throughout: every cut resumed").isTrue();
    assertThat(p1.get("lostBeforeRetention").asInt()).isZero();
    assertThat(p1.get("resumedAfterKill").asBoolean()).isTrue();
    assertThat(p1.get("reconnects").asInt()).isGreaterThanOrEqualTo(MIN_CUTS / 2);
    assertThat(cuts.get()).isGreaterThanOrEqualTo(MIN_CUTS);
    assertThat(blackholes.get()).isPositive();

    JsonNode lost = result.get("sessionLost");
    assertThat(lost.get("oldSessionId").asText()).isNotEqualTo(lost.get("newSessionId").asText());
    assertThat(lost.get("unconfirmedSends").asInt()).isZero(); // everything had been acknowledged
    assertThat(result.get("newSession").asBoolean()).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> atJava.contains("after-loss"));
  }

  /**
   * Browser → Java latency at a fixed rate (a benchmark, not a check: {@code bench/browser-latency.sh}
   * runs it with {@code -Dlonglink.bench.browser=true}): the page stamps each message with its epoch
   * time, the Java client compares with its own on arrival (same machine, same clock).
   */
  @Test
  @EnabledIfSystemProperty(named = "longlink.bench.browser", matches = "true")
  void browserToJavaLatencyAtAFixedRate(@TempDir Path dir) throws Exception {
    Browser.assumeReady();
    int rate = Integer.getInteger("longlink.bench.rate", 1000);
    int seconds = Integer.getInteger("longlink.bench.seconds", 20);
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).webSocket(WebSocketOptions.on(0)).build())
        .build().start();
    List<double[]> samples = Collections.synchronizedList(new ArrayList<>());
    java = LonglinkClient.builder().endpoint(server.localAddress()).clientId("java").listener(new ClientListener() {
      @Override
      public void onMessage(ReceivedMessage m) {
        Instant now = Instant.now();
        String[] parts = m.payloadText().split(" ");
        double nowMs = now.getEpochSecond() * 1000.0 + now.getNano() / 1e6;
        samples.add(new double[] {Integer.parseInt(parts[0].substring(1)), nowMs - Double.parseDouble(parts[1])});
      }
    }).build();
    java.connect().get(10, TimeUnit.SECONDS);
    startHttp(() -> true);
    JsonNode r = Browser.drive(dir, (seconds + 60) * 1000L, "page", httpBase() + "/e2e.html?mode=latency&rate=" + rate
        + "&seconds=" + seconds + "&ws=ws://127.0.0.1:" + server.webSocketAddress().getPort() + "/longlink");
    await().atMost(Duration.ofSeconds(30)).until(() -> samples.size() >= rate * seconds);
    double[] ms = samples.stream().filter(x -> x[0] >= rate).mapToDouble(x -> x[1]).sorted().toArray(); // first second: warm-up
    DoubleUnaryOperator q = f -> ms[Math.min(ms.length - 1, (int) Math.floor(f * ms.length))];
    System.out.printf("browser->java latency at %d msg/s for %d s (the page took %.1f s): n=%d p50=%.2f ms p90=%.2f ms "
            + "p99=%.2f ms p99.9=%.2f ms max=%.2f ms%n", rate, seconds, r.get("seconds").asDouble(),
        ms.length, q.applyAsDouble(0.5), q.applyAsDouble(0.9), q.applyAsDouble(0.99), q.applyAsDouble(0.999),
        ms[ms.length - 1]);
    assertThat(samples).hasSize(rate * seconds);
  }

  /** Java → browser, at most 200 unacknowledged, spread over the cuts like the page's sends. */
  private void pump() {
    List<CompletableFuture<Void>> acks = new ArrayList<>(N);
    for (int i = 0; i < N; i++) {
      if (i % 250 == 0) {
        int needed = i * MIN_CUTS / N;
        await().atMost(Duration.ofSeconds(60)).until(() -> cuts.get() >= needed);
      }
      if (i >= 200) {
        acks.get(i - 200).join();
      }
      acks.add(java.send(Destination.client("browser"), ("j" + i).getBytes(StandardCharsets.UTF_8)));
    }
    CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).join();
  }

  /** [delivered, lost, duplicated, reordered] of a stream that should be prefix0 .. prefix(N-1). */
  static List<Integer> audit(List<String> got, String prefix) {
    Set<String> seen = new HashSet<>();
    int dup = 0;
    int reordered = 0;
    int last = -1;
    for (String p : List.copyOf(got)) {
      if (!seen.add(p)) {
        dup++;
        continue;
      }
      int i = Integer.parseInt(p.substring(prefix.length()));
      reordered += i < last ? 1 : 0;
      last = i;
    }
    return List.of(got.size(), N - seen.size(), dup, reordered);
  }

  /** A reset of every connection, a close after a few bytes (mostly mid-frame), or a 300-600 ms blackhole. */
  private void randomFault() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    ChaosProxy proxy = r.nextBoolean() ? wsProxy : tcpProxy;
    int pick = r.nextInt(10);
    if (pick < 5) {
      proxy.resetAll();
    } else if (pick < 9) {
      String name = "cut" + cuts.get();
      proxy.addToxic(Toxic.limitData(name, r.nextBoolean() ? Toxic.Stream.UPSTREAM : Toxic.Stream.DOWNSTREAM,
          r.nextLong(1, 4000)));
      proxy.removeToxic(name); // it stays on the connections that drew it; new ones are clean
    } else {
      proxy.addToxic(Toxic.blackhole("hole-up", Toxic.Stream.UPSTREAM));
      proxy.addToxic(Toxic.blackhole("hole-down", Toxic.Stream.DOWNSTREAM));
      blackholes.incrementAndGet();
      await().pollDelay(Duration.ofMillis(r.nextLong(300, 600))).atMost(Duration.ofSeconds(5)).until(() -> true);
      proxy.removeToxic("hole-up");
      proxy.removeToxic("hole-down");
    }
    cuts.incrementAndGet();
  }

  static ChaosProxy proxyTo(InetSocketAddress upstream) {
    return ChaosProxy.builder("gw").listen(new InetSocketAddress("127.0.0.1", 0)).upstream(upstream).build().start();
  }

  String httpBase() {
    return "http://127.0.0.1:" + http.getAddress().getPort();
  }

  /** The page, the built SDK, and the two pacing endpoints the page waits on. */
  void startHttp(BooleanSupplier sessionGone) throws IOException {
    http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.setExecutor(Executors.newCachedThreadPool());
    http.createContext("/e2e.html", ex -> file(ex, Browser.SDK.resolve("browser/e2e.html"), "text/html"));
    http.createContext("/sdk/", ex -> {
      String name = ex.getRequestURI().getPath().substring("/sdk/".length());
      file(ex, name.matches("[a-z-]+\\.js") ? Browser.SDK.resolve("dist").resolve(name) : null, "text/javascript");
    });
    http.createContext("/cuts", ex -> {
      int atLeast = Integer.parseInt(ex.getRequestURI().getQuery().replace("atLeast=", ""));
      waitThenOk(ex, () -> cuts.get() >= atLeast);
    });
    http.createContext("/await-session-gone", ex -> waitThenOk(ex, sessionGone));
    http.start();
  }

  private static void waitThenOk(HttpExchange ex, BooleanSupplier condition) throws IOException {
    await().atMost(Duration.ofSeconds(60)).until(condition::getAsBoolean);
    send(ex, 200, "text/plain", "ok".getBytes(StandardCharsets.UTF_8));
  }

  private static void file(HttpExchange ex, Path f, String type) throws IOException {
    if (f == null || !Files.isRegularFile(f)) {
      send(ex, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
    } else {
      send(ex, 200, type + "; charset=utf-8", Files.readAllBytes(f));
    }
  }

  private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }
}
