package io.longlink.server.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.TargetKind;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.protocol.testing.RawClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard at {@code GET /} in headless Chromium (Debian's package; {@code .ci/run} installs
 * it): after its scripts ran, the numbers on the page are those of {@code /v1/stats}.
 */
class DashboardTest {

  /** Debian's chromium, installed when missing (root); {@code null} if there is none. */
  static Path chromium() throws Exception {
    if (io.longlink.testing.DebianPackages.ensure("chromium", "chromium", "--version") != null) {
      return null;
    }
    for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return Path.of(candidate);
      }
    }
    return null;
  }

  @Test
  void thePageShowsTheNumbersOfTheStatsEndpoint(@TempDir Path profile) throws Exception {
    Path browser = chromium();
    Assumptions.assumeTrue(browser != null, "no chromium on this machine, and it could not be installed (needs root "
        + "and apt-get: apt-get install chromium)");
    try (LonglinkServer server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build().start();
        AdminServer admin = AdminServer.start(server, "127.0.0.1", 0);
        RawClient a = RawClient.login(server.localAddress(), "a");
        RawClient b = RawClient.login(server.localAddress(), "b")) {
      a.send(new Frame.Data(1, TargetKind.CLIENT, "b", "", "x".getBytes(StandardCharsets.UTF_8)));
      b.readUntil(Frame.Data.class);
      RawClient gone = RawClient.login(server.localAddress(), "c");
      gone.close(); // a detached session and a close reason to show
      await().until(() -> server.stats().detachedSessions() == 1);

      String url = "http://127.0.0.1:" + admin.address().getPort() + "/?refresh=500";
      Process p = new ProcessBuilder(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile, "--virtual-time-budget=5000",
          "--dump-dom", url).redirectErrorStream(false).redirectError(profile.resolve("chromium.err").toFile()).start();
      String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(dom).as("page loaded its data; chromium said: " + Files.readString(profile.resolve("chromium.err")))
          .contains("data-loaded=\"true\"");

      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + admin.address().getPort() + "/v1/stats")).build(),
          HttpResponse.BodyHandlers.ofString());
      JsonNode stats = AdminServer.JSON.readTree(r.body());
      assertThat(field(dom, "connections")).isEqualTo(stats.at("/connections").asText()).isEqualTo("2");
      assertThat(field(dom, "sessions-attached")).isEqualTo(stats.at("/sessions/attached").asText());
      assertThat(field(dom, "sessions-detached")).isEqualTo(stats.at("/sessions/detached").asText()).isEqualTo("1");
      assertThat(field(dom, "messages-in")).isEqualTo(stats.at("/messages/in").asText()).isEqualTo("1");
      assertThat(field(dom, "messages-out")).isEqualTo(stats.at("/messages/out").asText());
      assertThat(dom).contains("data-reason=\"peer_gone\"");
      Matcher closes = Pattern.compile("data-reason=\"peer_gone\"><td>peer_gone</td><td class=\"count\">(\\d+)</td>")
          .matcher(dom);
      assertThat(closes.find()).as(dom).isTrue();
      assertThat(closes.group(1)).isEqualTo(stats.at("/closes/peer_gone").asText());
    }
  }

  /** The text of the element with this id. */
  private static String field(String dom, String id) {
    Matcher m = Pattern.compile("id=\"" + Pattern.quote(id) + "\">([^<]*)<").matcher(dom);
    assertThat(m.find()).as("element #" + id + " in the page").isTrue();
    return m.group(1);
  }
}
