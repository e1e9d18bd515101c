package io.longlink.app.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.longlink.client.ClientListener;
import io.longlink.client.LonglinkClient;
import io.longlink.client.ReceivedMessage;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.WebSocketOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Browser → Java latency, a benchmark (not part of the suite: its name matches none of the test
 * patterns; {@code bench/browser-latency.sh} runs it): the TypeScript SDK in headless Chromium sends
 * at a fixed rate over WebSocket, a Java SDK client on TCP receives; the page stamps each message
 * with its epoch time and the Java client compares with its own on arrival (one machine, one clock).
 */
class BrowserLatencyBench {
  LonglinkServer server;
  LonglinkClient java;
  PageServer pages;

  @AfterEach
  void stop() {
    if (java != null) {
      java.close();
    }
    if (pages != null) {
      pages.close();
    }
    if (server != null) {
      server.close();
    }
  }

  /**
   * Sends at {@code -Dlonglink.bench.rate} (default 1,000/s) for {@code -Dlonglink.bench.seconds}
   * (default 20) and prints the latency percentiles.
   */
  @Test
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
    pages = new PageServer(() -> 0, () -> true);
    JsonNode r = Browser.drive(dir, (seconds + 60) * 1000L, "page", pages.page("mode=latency&rate=" + rate
        + "&seconds=" + seconds + "&ws=ws://127.0.0.1:" + server.webSocketAddress().getPort() + "/longlink"));
    await().atMost(Duration.ofSeconds(30)).until(() -> samples.size() >= rate * seconds);
    double[] ms = samples.stream().filter(x -> x[0] >= rate).mapToDouble(x -> x[1]).sorted().toArray(); // first second: warm-up
    DoubleUnaryOperator q = f -> ms[Math.min(ms.length - 1, (int) Math.floor(f * ms.length))];
    System.out.printf("browser->java latency at %d msg/s for %d s (the page took %.1f s): n=%d p50=%.2f ms p90=%.2f ms "
            + "p99=%.2f ms p99.9=%.2f ms max=%.2f ms%n", rate, seconds, r.get("seconds").asDouble(),
        ms.length, q.applyAsDouble(0.5), q.applyAsDouble(0.9), q.applyAsDouble(0.99), q.applyAsDouble(0.999),
        ms[ms.length - 1]);
    assertThat(samples).hasSize(rate * seconds);
  }
}
