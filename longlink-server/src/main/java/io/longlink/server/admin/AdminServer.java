package io.longlink.server.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.longlink.server.LonglinkServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's operator HTTP endpoint, on its own port (loopback by default). Today: {@code GET
 * /healthz}. Served by the JDK's HTTP server on one small thread, apart from the event loops.
 */
public final class AdminServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  private final LonglinkServer node;
  private final HttpServer http;
  private final ExecutorService executor;

  private AdminServer(LonglinkServer node, HttpServer http, ExecutorService executor) {
    this.node = node;
    this.http = http;
    this.executor = executor;
  }

  /** Binds {@code host:port} (port 0 picks one) and starts serving. */
  public static AdminServer start(LonglinkServer node, String host, int port) throws IOException {
    Objects.requireNonNull(node, "node");
    HttpServer http = HttpServer.create(new InetSocketAddress(host, port), 16);
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "longlink-admin");
      t.setDaemon(true);
      return t;
    });
    http.setExecutor(executor);
    AdminServer admin = new AdminServer(node, http, executor);
    http.createContext("/healthz", admin::healthz);
    http.createContext("/", admin::notFound);
    http.start();
    log.info("admin API listening on {}:{}", http.getAddress().getHostString(), http.getAddress().getPort());
    return admin;
  }

  public InetSocketAddress address() {
    return http.getAddress();
  }

  private void healthz(HttpExchange exchange) throws IOException {
    if (!"GET".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, "{\"error\":\"method " + exchange.getRequestMethod() + " not allowed (expected: GET)\"}");
      return;
    }
    boolean up = node.state() == LonglinkServer.State.RUNNING;
    respond(exchange, up ? 200 : 503, "{\"status\":\"" + (up ? "ok" : node.state().name().toLowerCase()) + "\"}");
  }

  private void notFound(HttpExchange exchange) throws IOException {
    respond(exchange, 404, "{\"error\":\"no such endpoint\"}");
  }

  private static void respond(HttpExchange exchange, int status, String json) throws IOException {
    byte[] body = (json + "\n").getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    http.stop(0);
    executor.shutdownNow();
  }
}
