package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.testing.TestPki;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The language-neutral conformance suite ({@code conformance/run.py}, Python standard library only)
 * against the built jar over TCP, TLS, WebSocket and secure WebSocket: every case passes. And the
 * page-long example client of docs/PROTOCOL.md still speaks the protocol.
 */
class ConformanceIT {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  @Test
  void everyCaseOfTheSuitePassesOnEveryTransport(@TempDir Path dir) throws Exception {
    TestPki pki = TestPki.create("conformance", dir);
    TestPki.Issued cert = pki.server("gateway");
    List<String> out = python(dir, 240, ROOT.resolve("conformance/run.py").toString(), "--jar",
        System.getProperty("longlink.jar"), "--java", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--tls-cert", cert.certificateFile().toString(), "--tls-key", cert.keyFile().toString(),
        "--ca", pki.caFile().toString());
    String last = out.get(out.size() - 1);
    Matcher m = Pattern.compile("(\\d+) passed, (\\d+) failed").matcher(last);
    assertThat(m.matches()).as(String.join("\n", out)).isTrue();
    assertThat(m.group(2)).as(String.join("\n", out)).isEqualTo("0");
    assertThat(out).as("nothing skipped when the runner starts the gateways itself").noneMatch(l -> l.startsWith("SKIP"));
    // Every case on every transport it applies to: 4 transports, less those for one kind only.
    assertThat(Integer.parseInt(m.group(1))).isGreaterThanOrEqualTo(120);
  }

  @Test
  void theExampleClientOfTheSpecTalksToTheGateway(@TempDir Path dir) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    JarProcess gw = JarProcess.start(dir, "gateway", List.of(), Map.of(), "server", "--port", Integer.toString(port),
        "--admin-port", "-1", "--ws-port", "-1");
    try {
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
          .until(() -> gw.errContains("listening on") || gw.outLines().stream().anyMatch(l -> l.contains("listening on")));
      List<String> out = python(dir, 60, ROOT.resolve("docs/examples/python_client.py").toString(), Integer.toString(port));
      assertThat(out).contains("INTEROP OK");
    } finally {
      gw.process().destroy();
      gw.process().waitFor(20, TimeUnit.SECONDS);
    }
  }

  /** Runs python3 with {@code args}; fails with its output unless it exits 0 within {@code seconds}. */
  static List<String> python(Path dir, int seconds, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("python3"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("TMPDIR", dir.toString());
    Process p = pb.start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly();
    }
    assertThat(done && p.exitValue() == 0).as("python3 %s exited 0; it printed:%n%s", String.join(" ", args), text).isTrue();
    return text.lines().toList();
  }
}
