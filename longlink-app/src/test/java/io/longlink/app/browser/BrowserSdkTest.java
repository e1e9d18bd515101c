package io.longlink.app.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.longlink.app.RandomFaults;
import io.longlink.app.StreamAudit;
import io.longlink.chaos.ChaosProxy;
import io.longlink.client.ClientListener;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.ReceivedMessage;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.WebSocketOptions;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
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
  PageServer pages;
  LonglinkClient java;
  final RandomFaults faults = new RandomFaults(300, 600);

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
    if (pages != null) {
      pages.close();
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
        .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
        // A HELLO swallowed by a blackhole must be retried well inside the 4 s retention, as the page's is.
        .connectTimeout(Duration.ofSeconds(1)).listener(new ClientListener() {
          @Override
          public void onMessage(ReceivedMessage m) {
            atJava.add(m.payloadText());
            browserSpoke.complete(null);
          }
        }).build();
    java.connect().get(10, TimeUnit.SECONDS);
    pages = new PageServer(faults.cuts::get, () -> server.sessions("browser", 1).isEmpty());

    AtomicBoolean done = new AtomicBoolean();
    ScheduledExecutorService cutter = Executors.newSingleThreadScheduledExecutor();
    cutter.scheduleWithFixedDelay(() -> {
      if (!done.get()) {
        faults.injectOne(ThreadLocalRandom.current().nextBoolean() ? wsProxy : tcpProxy);
      }
    }, 50, 80, TimeUnit.MILLISECONDS);
    CompletableFuture<JsonNode> page = CompletableFuture.supplyAsync(() -> {
      try {
        return Browser.drive(dir, 240_000, "page", pages.page("n=" + N + "&cuts=" + MIN_CUTS + "&ws="
            + "ws://127.0.0.1:" + wsProxy.address().getPort() + server.config().webSocket().path()));
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
    System.out.println("browser reliability: " + result + "; faults " + faults.cuts.get() + " (blackholes "
        + faults.blackholes.get()
        + "), gateway resumes " + server.stats().resumed());
    assertThat(result.path("error").isMissingNode()).as(result.path("error").asText()).isTrue();
    JsonNode p1 = result.get("phase1");
    assertThat(p1.get("toBrowser").toString()).isEqualTo(
        "{\"delivered\":" + N + ",\"lost\":0,\"duplicated\":0,\"reordered\":0}");
    assertThat(StreamAudit.of(List.copyOf(atJava.subList(0, N)), "b", N)).isEqualTo(new StreamAudit(N, 0, 0, 0));
    assertThat(p1.get("sendFailures").asInt()).isZero();
    assertThat(p1.get("sessionKept").asBoolean()).as("one session throughout: every cut resumed").isTrue();
    assertThat(p1.get("lostBeforeRetention").asInt()).isZero();
    assertThat(p1.get("resumedAfterKill").asBoolean()).isTrue();
    assertThat(p1.get("reconnects").asInt()).isGreaterThanOrEqualTo(MIN_CUTS / 2);
    assertThat(faults.cuts.get()).isGreaterThanOrEqualTo(MIN_CUTS);
    assertThat(faults.blackholes.get()).isPositive();

    JsonNode lost = result.get("sessionLost");
    assertThat(lost.get("oldSessionId").asText()).isNotEqualTo(lost.get("newSessionId").asText());
    assertThat(lost.get("unconfirmedSends").asInt()).isZero(); // everything had been acknowledged
    assertThat(result.get("newSession").asBoolean()).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> atJava.contains("after-loss"));
  }

  /** Java → browser, at most 200 unacknowledged, spread over the cuts like the page's sends. */
  private void pump() {
    List<CompletableFuture<Void>> acks = new ArrayList<>(N);
    for (int i = 0; i < N; i++) {
      if (i % 250 == 0) {
        int needed = i * MIN_CUTS / N;
        await().atMost(Duration.ofSeconds(60)).until(() -> faults.cuts.get() >= needed);
      }
      if (i >= 200) {
        acks.get(i - 200).join();
      }
      acks.add(java.send(Destination.client("browser"), ("j" + i).getBytes(StandardCharsets.UTF_8)));
    }
    CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).join();
  }

  static ChaosProxy proxyTo(InetSocketAddress upstream) {
    return ChaosProxy.builder("gw").listen(new InetSocketAddress("127.0.0.1", 0)).upstream(upstream).build().start();
  }
}
