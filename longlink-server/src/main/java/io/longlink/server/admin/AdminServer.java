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
 * The node's operator HTTP endpoint, on its own port (loopback by default): {@code GET /healthz}
 * (alive), {@code GET /readyz} (taking clients: running, not draining, event loops answering) and
 * {@code POST /v1/drain}. Served by the JDK's HTTP server on one small thread, apart from the event loops.
 */
public final class AdminServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  private final LonglinkServer node;
  private final HttpServer http;
  private final ExecutorService executor;
  /** What {@code POST /v1/drain} runs (drain, then stop the process); {@code null}: not offered. */
  private volatile Runnable onDrain;

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
    http.createContext("/readyz", admin::readyz);
    http.createContext("/v1/drain", admin::drain);
    http.createContext("/v1/shed", admin::shed);
    http.createContext("/", admin::notFound);
    http.start();
    log.info("admin API listening on {}:{}", http.getAddress().getHostString(), http.getAddress().getPort());
    return admin;
  }

  /** Offers {@code POST /v1/drain}, which runs {@code drainAndStop} on a thread of its own. */
  public AdminServer onDrain(Runnable drainAndStop) {
    this.onDrain = drainAndStop;
    return this;
  }

  public InetSocketAddress address() {
    return http.getAddress();
  }

  private void healthz(HttpExchange exchange) throws IOException {
    if (!"GET".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, "{\"error\":\"method " + exchange.getRequestMethod() + " not allowed (expected: GET)\"}");
      return;
    }
    // Alive while draining too: an orchestrator must not kill a node that is handing clients over.
    LonglinkServer.State s = node.state();
    boolean up = s == LonglinkServer.State.RUNNING || s == LonglinkServer.State.DRAINING;
    respond(exchange, up ? 200 : 503, "{\"status\":\"" + (up ? "ok" : s.name().toLowerCase()) + "\"}");
  }

  /**
   * Ready for new clients: running (not draining), every event loop answers within a second, and a
   * message routed through the node reaches a local probe session.
   */
  private void readyz(HttpExchange exchange) throws IOException {
    if (!"GET".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, "{\"error\":\"method " + exchange.getRequestMethod() + " not allowed (expected: GET)\"}");
      return;
    }
    LonglinkServer.State s = node.state();
    if (s != LonglinkServer.State.RUNNING) {
      respond(exchange, 503, "{\"status\":\"" + s.name().toLowerCase() + "\"}");
      return;
    }
    if (!node.eventLoopsAnswer(java.time.Duration.ofSeconds(1))) {
      respond(exchange, 503, "{\"status\":\"event loops stalled\"}");
    } else if (!node.dataPathWorks()) {
      respond(exchange, 503, "{\"status\":\"routing probe failed\"}");
    } else {
      respond(exchange, 200, "{\"status\":\"ready\"}");
    }
  }

  /**
   * {@code POST /v1/shed} with {@code {"fraction": 0.25}} or {@code {"count": 1000}} (and optionally
   * {@code "spreadMs"}, default 10,000): moves that share of the connections to other nodes.
   */
  private void shed(HttpExchange exchange) throws IOException {
    if (!"POST".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, "{\"error\":\"method " + exchange.getRequestMethod() + " not allowed (expected: POST)\"}");
      return;
    }
    com.fasterxml.jackson.databind.JsonNode body;
    try (java.io.InputStream in = exchange.getRequestBody()) {
      body = JSON.readTree(in);
    } catch (IOException e) {
      respond(exchange, 400, "{\"error\":\"body: not JSON (expected: {\\\"fraction\\\": 0.25} or {\\\"count\\\": 100})\"}");
      return;
    }
    int open = node.connectionCount();
    int count;
    if (body != null && body.has("count") && body.get("count").canConvertToInt() && body.get("count").asInt() >= 0) {
      count = body.get("count").asInt();
    } else if (body != null && body.has("fraction") && body.get("fraction").isNumber()
        && body.get("fraction").asDouble() >= 0 && body.get("fraction").asDouble() <= 1) {
      count = (int) Math.round(open * body.get("fraction").asDouble());
    } else {
      respond(exchange, 400, "{\"error\":\"expected {\\\"fraction\\\": 0..1} or {\\\"count\\\": >= 0}\"}");
      return;
    }
    long spreadMs = body.has("spreadMs") ? Math.max(0, body.get("spreadMs").asLong()) : 10_000;
    try {
      int shed = node.shed(count, java.time.Duration.ofMillis(spreadMs));
      respond(exchange, 200, "{\"shed\":" + shed + ",\"connections\":" + open + "}");
    } catch (IllegalStateException e) {
      respond(exchange, 409, "{\"error\":\"node is " + node.state().name().toLowerCase() + "\"}");
    }
  }

  /** Starts a drain in the background; the node stops once every client has left or the timeout passed. */
  private void drain(HttpExchange exchange) throws IOException {
    if (!"POST".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, "{\"error\":\"method " + exchange.getRequestMethod() + " not allowed (expected: POST)\"}");
      return;
    }
    if (node.state() != LonglinkServer.State.RUNNING || onDrain == null) {
      respond(exchange, 409, "{\"error\":\"node is " + node.state().name().toLowerCase() + "\"}");
      return;
    }
    respond(exchange, 202, "{\"status\":\"draining\"}"); // first: the drain ends by closing this server
    Thread.ofPlatform().name("longlink-drain").start(onDrain);
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
