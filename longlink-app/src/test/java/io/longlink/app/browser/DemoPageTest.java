package io.longlink.app.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.WebSocketOptions;
import io.longlink.server.admin.AdminServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /demo} on the admin port: two browser pages log in as alice and bob and exchange a
 * message each way through the gateway's WebSocket listener. With {@code -Dlonglink.demo.screenshot=PATH}
 * the alice page is saved there (README's picture).
 */
class DemoPageTest {

  @Test
  void twoDemoPagesTalkThroughTheGateway(@TempDir Path dir) throws Exception {
    Browser.assumeReady();
    try (LonglinkServer server = LonglinkServer.builder().config(ServerConfig.builder().port(0)
        .webSocket(WebSocketOptions.on(0)).build()).build().start();
        AdminServer admin = AdminServer.start(server, "127.0.0.1", 0)) {
      String base = "http://127.0.0.1:" + admin.address().getPort();
      HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/demo"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).contains("<meta name=\"longlink-ws\" content=\"ws://127.0.0.1:"
          + server.webSocketAddress().getPort() + "/longlink\">");

      String png = System.getProperty("longlink.demo.screenshot", dir.resolve("demo.png").toString());
      JsonNode r = Browser.drive(dir, 60_000, "demo", base, png);
      assertThat(r.get("bob").toString()).contains("alice:hello bob, from the alice tab");
      assertThat(r.get("alice").toString()).contains("bob:hi alice!");
      assertThat(r.get("aliceStatus").asText()).startsWith("connected");
      assertThat(server.stats().undeliverable()).isZero();
    }
  }
}
