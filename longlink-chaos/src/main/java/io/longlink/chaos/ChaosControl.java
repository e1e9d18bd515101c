package io.longlink.chaos;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP control of a set of proxies, for people and scripts (docs/CHAOS.md):
 *
 * <pre>
 * GET    /proxies                        all proxies with their toxics
 * GET    /proxies/{proxy}                one proxy
 * POST   /proxies/{proxy}                {"enabled": false} disables (listener off, connections reset)
 * GET    /proxies/{proxy}/toxics         its toxics
 * POST   /proxies/{proxy}/toxics         add a toxic (JSON, see below)
 * DELETE /proxies/{proxy}/toxics/{name}  remove it
 * POST   /reset                          remove every toxic and enable every proxy
 * </pre>
 *
 * A toxic: {@code {"name":"lag","type":"latency","stream":"downstream","toxicity":1.0,
 * "attributes":{"latency":200,"jitter":50}}}. Errors answer 4xx with {@code {"error": "..."}}.
 */
public final class ChaosControl implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ChaosControl.class);
  private static final int MAX_BODY = 64 * 1024;

  private final Map<String, ChaosProxy> proxies = new ConcurrentHashMap<>();
  private final ObjectMapper json = new ObjectMapper();
  private final HttpServer http;
  private final ExecutorService executor;

  private ChaosControl(HttpServer http, ExecutorService executor) {
    this.http = http;
    this.executor = executor;
  }

  /** Serves the control API on {@code address} (port 0 picks one). */
  public static ChaosControl start(InetSocketAddress address) throws IOException {
    HttpServer http = HttpServer.create(address, 16);
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "chaos-control");
      t.setDaemon(true);
      return t;
    });
    http.setExecutor(executor);
    ChaosControl control = new ChaosControl(http, executor);
    http.createContext("/", control::handle);
    http.start();
    log.info("chaos control API on http://{}:{}", http.getAddress().getHostString(), http.getAddress().getPort());
    return control;
  }

  public InetSocketAddress address() {
    return http.getAddress();
  }

  /** Puts a proxy under this API's control. */
  public ChaosControl register(ChaosProxy proxy) {
    proxies.put(proxy.name(), proxy);
    return this;
  }

  private void handle(HttpExchange ex) throws IOException {
    try {
      route(ex);
    } catch (ApiError e) {
      error(ex, e.status, e.getMessage());
    } catch (IllegalArgumentException e) {
      error(ex, 400, e.getMessage());
    } catch (RuntimeException e) {
      log.warn("chaos control: {} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
      error(ex, 500, "internal error: " + e);
    }
  }

  private void route(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    String[] parts = ex.getRequestURI().getPath().replaceAll("/+$", "").split("/");
    // parts[0] is "" (leading slash)
    if (parts.length == 2 && parts[1].equals("reset") && method.equals("POST")) {
      for (ChaosProxy p : proxies.values()) {
        p.clearToxics();
        p.setEnabled(true);
      }
      respond(ex, 204, null);
      return;
    }
    if (parts.length < 2 || !parts[1].equals("proxies")) {
      throw new ApiError(404, "no such endpoint: " + ex.getRequestURI().getPath());
    }
    if (parts.length == 2) {
      requireMethod(method, "GET");
      ObjectNode all = json.createObjectNode();
      for (ChaosProxy p : proxies.values()) {
        all.set(p.name(), proxyJson(p));
      }
      respond(ex, 200, all);
      return;
    }
    ChaosProxy proxy = proxies.get(parts[2]);
    if (proxy == null) {
      throw new ApiError(404, "no proxy named '" + parts[2] + "' (known: " + proxies.keySet() + ")");
    }
    if (parts.length == 3) {
      if (method.equals("GET")) {
        respond(ex, 200, proxyJson(proxy));
      } else if (method.equals("POST")) {
        JsonNode body = body(ex);
        JsonNode enabled = body.get("enabled");
        if (enabled == null || !enabled.isBoolean()) {
          throw new ApiError(400, "body: expected {\"enabled\": true|false}");
        }
        proxy.setEnabled(enabled.booleanValue());
        respond(ex, 200, proxyJson(proxy));
      } else {
        throw new ApiError(405, "method " + method + " not allowed (expected: GET or POST)");
      }
      return;
    }
    if (!parts[3].equals("toxics")) {
      throw new ApiError(404, "no such endpoint: " + ex.getRequestURI().getPath());
    }
    if (parts.length == 4) {
      if (method.equals("GET")) {
        ArrayNode list = json.createArrayNode();
        proxy.toxics().forEach(t -> list.add(toxicJson(t)));
        respond(ex, 200, list);
      } else if (method.equals("POST")) {
        Toxic t = parseToxic(body(ex));
        try {
          proxy.addToxic(t);
        } catch (IllegalArgumentException e) {
          throw new ApiError(409, e.getMessage());
        }
        respond(ex, 200, toxicJson(t));
      } else {
        throw new ApiError(405, "method " + method + " not allowed (expected: GET or POST)");
      }
      return;
    }
    if (parts.length == 5) {
      requireMethod(method, "DELETE");
      if (!proxy.removeToxic(parts[4])) {
        throw new ApiError(404, "no toxic named '" + parts[4] + "' on proxy " + proxy.name());
      }
      respond(ex, 204, null);
      return;
    }
    throw new ApiError(404, "no such endpoint: " + ex.getRequestURI().getPath());
  }

  private static void requireMethod(String method, String expected) {
    if (!method.equals(expected)) {
      throw new ApiError(405, "method " + method + " not allowed (expected: " + expected + ")");
    }
  }

  private JsonNode body(HttpExchange ex) throws IOException {
    byte[] bytes;
    try (InputStream in = ex.getRequestBody()) {
      bytes = in.readNBytes(MAX_BODY + 1);
    }
    if (bytes.length > MAX_BODY) {
      throw new ApiError(413, "body: more than " + MAX_BODY + " bytes");
    }
    try {
      JsonNode node = json.readTree(bytes);
      if (node == null || !node.isObject()) {
        throw new ApiError(400, "body: expected a JSON object");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new ApiError(400, "body: malformed JSON: " + e.getOriginalMessage());
    }
  }

  /** Parses the JSON form of a toxic; attribute names follow Toxiproxy where they exist. */
  Toxic parseToxic(JsonNode n) {
    String name = text(n, "name");
    String typeName = text(n, "type");
    Toxic.Type type;
    try {
      type = Toxic.Type.valueOf(typeName.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ApiError(400, "type: '" + typeName + "' (expected: latency, bandwidth, slicer, blackhole, reset, "
          + "close, limit_data or timeout)");
    }
    String streamName = n.has("stream") ? text(n, "stream") : "downstream";
    Toxic.Stream stream;
    try {
      stream = Toxic.Stream.valueOf(streamName.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ApiError(400, "stream: '" + streamName + "' (expected: upstream or downstream)");
    }
    double toxicity = n.has("toxicity") ? n.get("toxicity").asDouble(-1) : 1.0;
    JsonNode a = n.has("attributes") ? n.get("attributes") : json.createObjectNode();
    for (Iterator<String> it = a.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!a.get(f).isIntegralNumber()) {
        throw new ApiError(400, "attributes." + f + ": " + a.get(f) + " (expected: a whole number)");
      }
    }
    return new Toxic(name, type, stream, toxicity, a.path("latency").asLong(0), a.path("jitter").asLong(0),
        a.path("rate").asLong(0), (int) a.path("average_size").asLong(0), a.path("delay").asLong(0),
        a.path("bytes").asLong(0), a.path("timeout").asLong(0));
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual() || v.asText().isEmpty()) {
      throw new ApiError(400, field + ": missing or not a string");
    }
    return v.asText();
  }

  ObjectNode toxicJson(Toxic t) {
    ObjectNode o = json.createObjectNode();
    o.put("name", t.name());
    o.put("type", t.type().wireName());
    o.put("stream", t.stream().name().toLowerCase(Locale.ROOT));
    o.put("toxicity", t.toxicity());
    ObjectNode a = o.putObject("attributes");
    switch (t.type()) {
      case LATENCY:
        a.put("latency", t.latencyMs()).put("jitter", t.jitterMs());
        break;
      case BANDWIDTH:
        a.put("rate", t.rateBytesPerSecond());
        break;
      case SLICER:
        a.put("average_size", t.sliceBytes()).put("delay", t.sliceDelayMs());
        break;
      case LIMIT_DATA:
        a.put("bytes", t.limitBytes());
        break;
      case TIMEOUT:
        a.put("timeout", t.timeoutMs());
        break;
      default:
        break;
    }
    return o;
  }

  private ObjectNode proxyJson(ChaosProxy p) {
    ObjectNode o = json.createObjectNode();
    o.put("name", p.name());
    o.put("listen", ChaosProxy.format(p.address()));
    o.put("upstream", ChaosProxy.format(p.upstream()));
    o.put("enabled", p.enabled());
    o.put("connections", p.connectionCount());
    ArrayNode list = o.putArray("toxics");
    p.toxics().forEach(t -> list.add(toxicJson(t)));
    return o;
  }

  private void error(HttpExchange ex, int status, String message) throws IOException {
    respond(ex, status, json.createObjectNode().put("error", message));
  }

  private void respond(HttpExchange ex, int status, JsonNode body) throws IOException {
    if (body == null) {
      ex.sendResponseHeaders(status, -1);
      ex.close();
      return;
    }
    byte[] bytes = (json.writeValueAsString(body) + "\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    http.stop(0);
    executor.shutdownNow();
  }

  /** An answer with a status and a message. */
  private static final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;

    ApiError(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }
}
