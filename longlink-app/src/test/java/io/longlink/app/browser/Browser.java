package io.longlink.app.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.longlink.testing.DebianPackages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Headless Chromium (Debian's package) driven by {@code clients/typescript/browser/drive.mjs} with
 * playwright-core from the SDK's lockfile. Needs what the Maven build of {@code clients/typescript}
 * leaves behind (node_modules, dist); without it the test is skipped with the reason, except under
 * CI, where that is a failure.
 */
public final class Browser {
  public static final Path SDK = Path.of("..", "clients", "typescript").toAbsolutePath().normalize();
  private static final ObjectMapper JSON = new ObjectMapper();

  private Browser() {}

  /** Skips (or, under CI, fails) unless chromium, node, playwright-core and the built SDK are all there. */
  public static void assumeReady() throws IOException, InterruptedException {
    String chromium = DebianPackages.ensure("chromium", "chromium", "--version");
    assume(chromium == null ? List.of() : List.of(chromium));
  }

  /** Skips (or, under CI, fails) unless node, the SDK's node_modules and the built SDK are there. */
  public static void assumeNode() throws IOException, InterruptedException {
    assume(List.of());
  }

  private static void assume(List<String> alreadyMissing) throws IOException, InterruptedException {
    List<String> missing = new ArrayList<>(alreadyMissing);
    if (!DebianPackages.run("node", "--version").ok()) {
      missing.add("node is not on PATH");
    }
    if (!Files.isDirectory(SDK.resolve("node_modules/playwright-core"))) {
      missing.add(SDK + "/node_modules/playwright-core (run ./mvnw -pl clients/typescript install, or npm ci there)");
    }
    if (!Files.isRegularFile(SDK.resolve("dist/index.js"))) {
      missing.add(SDK + "/dist (the SDK is not built: npm run build there)");
    }
    if (!missing.isEmpty() && System.getenv("CI") != null) {
      throw new AssertionError("the TypeScript SDK tests cannot run under CI: " + missing);
    }
    Assumptions.assumeTrue(missing.isEmpty(), () -> "TypeScript SDK test skipped: " + missing);
  }

  /**
   * Runs the driver ({@code page URL} or {@code demo BASE_URL [PNG]}) and returns the JSON it prints
   * last; fails with the page's console output when it does not finish.
   */
  static JsonNode drive(Path workDir, long timeoutMillis, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("node", SDK.resolve("browser/drive.mjs").toString()));
    cmd.add(args[0]);
    cmd.add(args[1]);
    cmd.add(Long.toString(timeoutMillis));
    cmd.addAll(List.of(args).subList(2, args.length));
    Path err = workDir.resolve("browser.err");
    Process p = new ProcessBuilder(cmd).directory(SDK.toFile()).redirectError(err.toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    boolean finished = p.waitFor(timeoutMillis + 30_000, TimeUnit.MILLISECONDS);
    if (!finished) {
      p.destroyForcibly();
    }
    String console = Files.readString(err);
    assertThat(finished && p.exitValue() == 0).as("the browser driver finished; it said:%n%s%n%s", out,
        tail(console)).isTrue();
    String[] lines = out.strip().split("\n");
    return JSON.readTree(lines[lines.length - 1]);
  }

  private static String tail(String s) {
    return s.length() <= 6000 ? s : "…" + s.substring(s.length() - 6000);
  }
}
