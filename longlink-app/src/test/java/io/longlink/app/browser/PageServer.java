package io.longlink.app.browser;

import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * Serves {@code clients/typescript/browser/e2e.html}, the built SDK at {@code /sdk/}, and the two
 * endpoints the page waits on: {@code /cuts?atLeast=K} (until the test made K faults) and
 * {@code /await-session-gone} (until the gateway dropped the page's session).
 */
final class PageServer implements AutoCloseable {
  private final HttpServer http;
  private final ExecutorService executor = Executors.newCachedThreadPool();

  PageServer(IntSupplier cuts, BooleanSupplier sessionGone) throws IOException {
    http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.setExecutor(executor);
    http.createContext("/e2e.html", ex -> file(ex, Browser.SDK.resolve("browser/e2e.html"), "text/html"));
    http.createContext("/sdk/", ex -> {
      String name = ex.getRequestURI().getPath().substring("/sdk/".length());
      file(ex, name.matches("[a-z-]+\\.js") ? Browser.SDK.resolve("dist").resolve(name) : null, "text/javascript");
    });
    http.createContext("/cuts", ex -> {
      int atLeast = Integer.parseInt(ex.getRequestURI().getQuery().replace("atLeast=", ""));
      waitThenOk(ex, () -> cuts.getAsInt() >= atLeast);
    });
    http.createContext("/await-session-gone", ex -> waitThenOk(ex, sessionGone));
    http.start();
  }

  /** The page's URL with {@code query} (without the leading {@code ?}). */
  String page(String query) {
    return "http://127.0.0.1:" + http.getAddress().getPort() + "/e2e.html?" + query;
  }

  @Override
  public void close() {
    http.stop(0);
    executor.shutdownNow();
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
