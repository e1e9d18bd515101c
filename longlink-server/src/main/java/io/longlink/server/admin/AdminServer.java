package io.longlink.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.longlink.server.LonglinkServer;
import io.longlink.server.SessionInfo;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's operator HTTP API on its own port (loopback by default; see docs/ADMIN.md): probes
 * ({@code /healthz}, {@code /readyz}), Prometheus metrics ({@code /metrics}), a JSON summary
 * ({@code /v1/stats}), sessions (list, look up, kick), backend publishing ({@code /v1/publish}),
 * drain and load shedding, and a live dashboard at {@code /}. Served by the JDK's HTTP server on
 * one small thread, apart from the event loops. Errors are JSON: {@code {"error": "..."}}.
 */
public final class AdminServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  static final ObjectMapper JSON = new ObjectMapper();
  /** Largest request body accepted; more is 413. */
  static final int MAX_BODY_BYTES = 64 * 1024;
  private static final int DEFAULT_LIST_LIMIT = 100;
  private static final int MAX_LIST_LIMIT = 10_000;

  private final LonglinkServer node;
  private final HttpServer http;
  private final ExecutorService executor;
  private final byte[] token;
  /** What {@code POST /v1/drain} runs (drain, then stop the process); {@code null}: not offered. */
  private volatile Runnable onDrain;

  /** The admin API's own certificate, or {@code null} for plain HTTP. */
  private io.longlink.server.ServerTls tls;

  private AdminServer(LonglinkServer node, HttpServer http, ExecutorService executor, String token) {
    this.node = node;
    this.http = http;
    this.executor = executor;
    this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
  }

  /** Binds {@code host:port} (port 0 picks one), without a token: {@code host} must be a loopback address. */
  public static AdminServer start(LonglinkServer node, String host, int port) throws IOException {
    return start(node, host, port, null);
  }

  /**
   * Binds {@code host:port} (port 0 picks one) and starts serving. With a {@code token}, every
   * endpoint but the probes wants {@code Authorization: Bearer <token>}.
   *
   * @throws IllegalArgumentException bound beyond loopback without a token: the API can kick and drain
   */
  public static AdminServer start(LonglinkServer node, String host, int port, String token) throws IOException {
    return start(node, host, port, token, null);
  }

  /**
   * The same, over HTTPS with {@code tls}'s certificate when it is not {@code null} (the JDK's TLS
   * provider; read at start and again on {@code POST /v1/tls/reload}, for new connections).
   */
  public static AdminServer start(LonglinkServer node, String host, int port, String token,
      io.longlink.server.ServerTls tls) throws IOException {
    Objects.requireNonNull(node, "node");
    if ((token == null || token.isEmpty()) && !InetAddress.getByName(host).isLoopbackAddress()) {
      throw new IllegalArgumentException("admin host: " + host + " is reachable from other machines (expected: a "
          + "loopback address, or an admin token: the API can kick sessions and drain the node)");
    }
    HttpServer http;
    if (tls == null) {
      http = HttpServer.create(new InetSocketAddress(host, port), 16);
    } else {
      com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(new InetSocketAddress(host, port), 16);
      https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(new Reloadable(jdkContext(tls))));
      http = https;
    }
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "longlink-admin");
      t.setDaemon(true);
      return t;
    });
    http.setExecutor(executor);
    AdminServer admin = new AdminServer(node, http, executor, token == null || token.isEmpty() ? null : token);
    admin.tls = tls;
    http.createContext("/", admin::dispatch);
    http.start();
    log.info("admin API listening on {}://{}:{}{}", tls == null ? "http" : "https", http.getAddress().getHostString(),
        http.getAddress().getPort(), admin.token == null ? "" : " (token required)");
    return admin;
  }

  /**
   * The JDK's HTTPS server takes its SSLContext once, at start; this one hands each new connection
   * to whichever context is current, so a reload reaches new connections and leaves open ones be.
   */
  private static final class Reloadable extends javax.net.ssl.SSLContext {
    private final Spi spi;

    Reloadable(javax.net.ssl.SSLContext first) {
      this(new Spi(first));
    }

    private Reloadable(Spi spi) {
      super(spi, spi.current.getProvider(), spi.current.getProtocol());
      this.spi = spi;
    }

    /** New connections from now on get {@code next}'s certificate. */
    void use(javax.net.ssl.SSLContext next) {
      spi.current = next;
    }

    /** Every call goes to the current context. */
    private static final class Spi extends javax.net.ssl.SSLContextSpi {
      volatile javax.net.ssl.SSLContext current;

      Spi(javax.net.ssl.SSLContext first) {
        this.current = first;
      }

      @Override
      protected void engineInit(javax.net.ssl.KeyManager[] km, javax.net.ssl.TrustManager[] tm,
          java.security.SecureRandom sr) {
        throw new UnsupportedOperationException("initialised from the admin certificate");
      }

      @Override
      protected javax.net.ssl.SSLSocketFactory engineGetSocketFactory() {
        return current.getSocketFactory();
      }

      @Override
      protected javax.net.ssl.SSLServerSocketFactory engineGetServerSocketFactory() {
        return current.getServerSocketFactory();
      }

      @Override
      protected javax.net.ssl.SSLEngine engineCreateSSLEngine() {
        return current.createSSLEngine();
      }

      @Override
      protected javax.net.ssl.SSLEngine engineCreateSSLEngine(String host, int port) {
        return current.createSSLEngine(host, port);
      }

      @Override
      protected javax.net.ssl.SSLSessionContext engineGetServerSessionContext() {
        return current.getServerSessionContext();
      }

      @Override
      protected javax.net.ssl.SSLSessionContext engineGetClientSessionContext() {
        return current.getClientSessionContext();
      }
    }
  }

  private static javax.net.ssl.SSLContext jdkContext(io.longlink.server.ServerTls tls) throws IOException {
    io.netty.handler.ssl.SslContext c = io.netty.handler.ssl.SslContextBuilder
        .forServer(tls.certificateChain().toFile(), tls.privateKey().toFile())
        .sslProvider(io.netty.handler.ssl.SslProvider.JDK).protocols(io.longlink.server.ServerTls.PROTOCOLS).build();
    return ((io.netty.handler.ssl.JdkSslContext) c).context();
  }

  /** Offers {@code POST /v1/drain}, which runs {@code drainAndStop} on a thread of its own. */
  public AdminServer onDrain(Runnable drainAndStop) {
    this.onDrain = drainAndStop;
    return this;
  }

  public InetSocketAddress address() {
    return http.getAddress();
  }

  private void dispatch(HttpExchange ex) throws IOException {
    try {
      String path = ex.getRequestURI().getPath();
      if (path.equals("/healthz")) {
        only(ex, "GET", this::healthz);
      } else if (path.equals("/readyz")) {
        only(ex, "GET", this::readyz);
      } else if (!authorized(ex)) {
        error(ex, 401, "missing or wrong token (expected: Authorization: Bearer <admin token>)");
      } else if (token == null && !loopbackHost(ex)) {
        // Without a token the API is for this machine only: a name that resolves here by DNS rebinding is refused.
        error(ex, 403, "Host: " + ex.getRequestHeaders().getFirst("Host") + " (expected: localhost or a loopback "
            + "address; set --admin-token to serve other names)");
      } else if (changesState(ex) && crossSite(ex)) {
        error(ex, 403, "cross-site request refused: state-changing calls come from the admin's own page, curl "
            + "or a backend, never from another site's page");
      } else if (path.equals("/") || path.equals("/index.html")) {
        only(ex, "GET", this::dashboard);
      } else if (path.equals("/demo") || path.startsWith("/demo/")) {
        only(ex, "GET", e -> demo(e, path));
      } else if (path.equals("/metrics")) {
        only(ex, "GET", this::metrics);
      } else if (path.equals("/v1/stats")) {
        only(ex, "GET", e -> respond(e, 200, StatsJson.of(node)));
      } else if (path.equals("/v1/sessions")) {
        only(ex, "GET", this::listSessions);
      } else if (path.startsWith("/v1/sessions/")) {
        session(ex, path.substring("/v1/sessions/".length()));
      } else if (path.startsWith("/v1/presence/")) {
        only(ex, "GET", e -> presence(e, path.substring("/v1/presence/".length())));
      } else if (path.equals("/v1/nodes")) {
        only(ex, "GET", this::nodes);
      } else if (path.equals("/v1/publish")) {
        only(ex, "POST", this::publish);
      } else if (path.equals("/v1/drain")) {
        only(ex, "POST", this::drain);
      } else if (path.equals("/v1/shed")) {
        only(ex, "POST", this::shed);
      } else if (path.equals("/v1/tls/reload")) {
        only(ex, "POST", this::reloadTls);
      } else {
        error(ex, 404, "no such endpoint: " + path);
      }
    } catch (BadRequest e) {
      error(ex, e.status, e.getMessage());
    } catch (RuntimeException e) {
      log.warn("admin API: {} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
      error(ex, 500, "internal error: " + e);
    } finally {
      ex.close();
    }
  }

  private interface Handler {
    void handle(HttpExchange ex) throws IOException;
  }

  private static void only(HttpExchange ex, String method, Handler h) throws IOException {
    if (!method.equals(ex.getRequestMethod())) {
      error(ex, 405, "method " + ex.getRequestMethod() + " not allowed (expected: " + method + ")");
      return;
    }
    h.handle(ex);
  }

  private static boolean changesState(HttpExchange ex) {
    String m = ex.getRequestMethod();
    return !m.equals("GET") && !m.equals("HEAD");
  }

  /**
   * Whether a browser sent this from another site's page: browsers mark every cross-origin POST with
   * {@code Origin} (and modern ones with {@code Sec-Fetch-Site}); curl and backends send neither.
   * The API never answers CORS preflights, so a page elsewhere can only send "simple" requests, and
   * those are refused here.
   */
  private static boolean crossSite(HttpExchange ex) {
    String site = ex.getRequestHeaders().getFirst("Sec-Fetch-Site");
    if (site != null && !site.equals("same-origin") && !site.equals("none")) {
      return true;
    }
    String origin = ex.getRequestHeaders().getFirst("Origin");
    if (origin == null) {
      return false;
    }
    String host = ex.getRequestHeaders().getFirst("Host");
    return host == null || !(origin.equals("http://" + host) || origin.equals("https://" + host));
  }

  private static boolean loopbackHost(HttpExchange ex) {
    String host = ex.getRequestHeaders().getFirst("Host");
    if (host == null) {
      return true; // HTTP/1.0 without Host: not a browser
    }
    String name = host.startsWith("[") ? host.substring(1, Math.max(1, host.indexOf(']')))
        : host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
    if (name.equalsIgnoreCase("localhost")) {
      return true;
    }
    if (!name.matches("[0-9.]+") && !name.contains(":")) {
      return false; // a DNS name: never resolved here, a rebinding attacker controls it
    }
    try {
      return InetAddress.getByName(name).isLoopbackAddress(); // a literal: no lookup
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * {@code POST /v1/tls/reload}: reads the client port's certificate and key again, and the admin
   * API's; either one that fails to load keeps what it had, and the answer names it.
   */
  private void reloadTls(HttpExchange ex) throws IOException {
    if (!node.tls() && tls == null) {
      throw new BadRequest(409, "this node serves no TLS (expected: started with --tls-cert and --tls-key)");
    }
    String error = node.tls() ? node.reloadTls() : null;
    if (tls != null && http instanceof com.sun.net.httpserver.HttpsServer https) {
      try {
        ((Reloadable) https.getHttpsConfigurator().getSSLContext()).use(jdkContext(tls));
      } catch (IOException | RuntimeException e) {
        String admin = "admin certificate " + tls.certificateChain() + ": " + e.getMessage();
        error = error == null ? admin : error + "; " + admin;
      }
    }
    if (error != null) {
      respond(ex, 500, JSON.createObjectNode().put("reloaded", false).put("error", error).toString());
    } else {
      respond(ex, 200, "{\"reloaded\":true}");
    }
  }

  private boolean authorized(HttpExchange ex) {
    if (token == null) {
      return true;
    }
    String header = ex.getRequestHeaders().getFirst("Authorization");
    String given = header != null && header.startsWith("Bearer ") ? header.substring(7)
        : query(ex).getOrDefault("token", ""); // the dashboard page passes it on in its URL
    return MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8));
  }

  private void healthz(HttpExchange ex) throws IOException {
    // Alive while draining too: an orchestrator must not kill a node that is handing clients over.
    LonglinkServer.State s = node.state();
    boolean up = s == LonglinkServer.State.RUNNING || s == LonglinkServer.State.DRAINING;
    respond(ex, up ? 200 : 503, "{\"status\":\"" + (up ? "ok" : s.name().toLowerCase()) + "\"}");
  }

  /**
   * Ready for new clients: running (not draining), every event loop answers within a second, and a
   * message routed through the node reaches a local probe session.
   */
  private void readyz(HttpExchange ex) throws IOException {
    LonglinkServer.State s = node.state();
    if (s != LonglinkServer.State.RUNNING) {
      respond(ex, 503, "{\"status\":\"" + s.name().toLowerCase() + "\"}");
    } else if (!node.eventLoopsAnswer(java.time.Duration.ofSeconds(1))) {
      respond(ex, 503, "{\"status\":\"event loops stalled\"}");
    } else if (!node.dataPathWorks()) {
      respond(ex, 503, "{\"status\":\"routing probe failed\"}");
    } else if (!node.clusterUnavailable().isEmpty()) {
      respond(ex, 503, JSON.writeValueAsString(Map.of("status", "degraded", "reason",
          "cluster store unavailable: " + node.clusterUnavailable())));
    } else {
      respond(ex, 200, "{\"status\":\"ready\"}");
    }
  }

  private void metrics(HttpExchange ex) throws IOException {
    if (!(node.meterRegistry() instanceof PrometheusMeterRegistry prometheus)) {
      error(ex, 404, "metrics go to the application's own registry, not Prometheus");
      return;
    }
    byte[] body = prometheus.scrape().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    ex.sendResponseHeaders(200, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  private void dashboard(HttpExchange ex) throws IOException {
    byte[] page;
    try (InputStream in = AdminServer.class.getResourceAsStream("dashboard.html")) {
      page = Objects.requireNonNull(in, "dashboard.html").readAllBytes();
    }
    ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
    ex.sendResponseHeaders(200, page.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(page);
    }
  }

  /**
   * {@code GET /demo}: a chat page on the TypeScript SDK, and {@code /demo/sdk/*.js} the SDK it loads.
   * Both are classpath resources under {@code io/longlink/demo/}, which the app bundles (the SDK's
   * jar); a server embedded without them answers 404 saying so. The page learns the WebSocket URL
   * from a meta tag: the scheme from the node's TLS, the host the browser used, the node's port and path.
   */
  private void demo(HttpExchange ex, String path) throws IOException {
    String name = path.equals("/demo") || path.equals("/demo/") ? "index.html" : path.substring("/demo/".length());
    if (!DEMO_FILE.matcher(name).matches()) {
      error(ex, 404, "no such demo file: " + name);
      return;
    }
    byte[] body;
    try (InputStream in = AdminServer.class.getClassLoader().getResourceAsStream("io/longlink/demo/" + name)) {
      if (in == null) {
        error(ex, 404, name.equals("index.html") ? "the demo is not bundled with this server (it comes with the longlink "
            + "app's jar, built from clients/typescript)" : "no such demo file: " + name);
        return;
      }
      body = in.readAllBytes();
    }
    if (name.equals("index.html")) {
      InetSocketAddress ws = node.webSocketAddress();
      String url = ws == null ? "" : (node.tls() ? "wss://" : "ws://") + hostOf(ex) + ":" + ws.getPort()
          + node.config().webSocket().path();
      body = new String(body, StandardCharsets.UTF_8).replace("{{LONGLINK_WS_URL}}", url).getBytes(StandardCharsets.UTF_8);
    }
    ex.getResponseHeaders().set("Content-Type", name.endsWith(".js") ? "text/javascript; charset=utf-8"
        : "text/html; charset=utf-8");
    ex.getResponseHeaders().set("Cache-Control", "no-cache");
    ex.sendResponseHeaders(200, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  private static final java.util.regex.Pattern DEMO_FILE = java.util.regex.Pattern.compile("index\\.html|sdk/[a-z-]+\\.js");

  private static final java.util.regex.Pattern HOST_HEADER = java.util.regex.Pattern.compile("[A-Za-z0-9.\\-]+(:\\d+)?|\\[[0-9A-Fa-f:.]+\\](:\\d+)?");

  /** The host name the browser used to reach this API (its {@code Host} header without the port). */
  private static String hostOf(HttpExchange ex) {
    String host = ex.getRequestHeaders().getFirst("Host");
    if (host == null || !HOST_HEADER.matcher(host).matches()) {
      return "127.0.0.1"; // absent, or not a plain name: nothing of it goes into the page
    }
    int colon = host.lastIndexOf(':');
    return colon > host.lastIndexOf(']') ? host.substring(0, colon) : host;
  }

  /** {@code GET /v1/nodes}: the cluster's live nodes (just this one without a cluster registry). */
  private void nodes(HttpExchange ex) throws IOException {
    List<io.longlink.server.spi.NodeInfo> nodes;
    try {
      nodes = node.nodes();
    } catch (RuntimeException e) {
      error(ex, 503, "cluster registry unavailable: " + e.getMessage());
      return;
    }
    ObjectNode body = JSON.createObjectNode();
    body.put("self", node.self().id());
    body.set("nodes", JSON.valueToTree(nodes));
    respond(ex, 200, JSON.writeValueAsString(body));
  }

  /** {@code GET /v1/sessions?clientId=&limit=}. */
  private void listSessions(HttpExchange ex) throws IOException {
    Map<String, String> q = query(ex);
    int limit = DEFAULT_LIST_LIMIT;
    if (q.containsKey("limit")) {
      try {
        limit = Integer.parseInt(q.get("limit"));
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 0 || limit > MAX_LIST_LIMIT) {
        throw new BadRequest(400, "limit: " + q.get("limit") + " (expected: 0.." + MAX_LIST_LIMIT + ")");
      }
    }
    List<SessionInfo> sessions = node.sessions(q.getOrDefault("clientId", ""), limit);
    ObjectNode body = JSON.createObjectNode();
    body.put("count", sessions.size());
    body.set("sessions", JSON.valueToTree(sessions.stream().map(AdminServer::toJson).toList()));
    respond(ex, 200, JSON.writeValueAsString(body));
  }

  /** {@code GET} or {@code DELETE /v1/sessions/{id}[?reason=]}. */
  private void session(HttpExchange ex, String id) throws IOException {
    String method = ex.getRequestMethod();
    if (method.equals("GET")) {
      Optional<SessionInfo> s = node.session(id);
      if (s.isEmpty()) {
        error(ex, 404, "no session " + id + " on this node");
      } else {
        respond(ex, 200, JSON.writeValueAsString(toJson(s.get())));
      }
    } else if (method.equals("DELETE")) {
      String reason = query(ex).getOrDefault("reason", "removed by an operator");
      if (node.kick(id, reason)) {
        respond(ex, 200, JSON.writeValueAsString(Map.of("kicked", id, "reason", reason)));
      } else {
        error(ex, 404, "no session " + id + " on this node");
      }
    } else {
      error(ex, 405, "method " + method + " not allowed (expected: GET or DELETE)");
    }
  }

  static Map<String, Object> toJson(SessionInfo s) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("clientId", s.clientId());
    if (!s.deviceId().isEmpty()) {
      m.put("deviceId", s.deviceId());
    }
    m.put("sessionId", s.sessionId());
    m.put("subject", s.subject());
    m.put("state", s.state());
    if (s.link() != null) {
      m.put("remoteAddress", s.link().remoteAddress());
      m.put("connectedSince", s.link().connectedSince().toString());
      m.put("lastHeard", s.link().lastHeard().toString());
      m.put("rttMs", s.link().rtt() == null ? null : s.link().rtt().toNanos() / 1e6);
    }
    m.put("bufferedMessages", s.bufferedMessages());
    m.put("bufferedBytes", s.bufferedBytes());
    m.put("lastSentSeq", s.lastSentSeq());
    m.put("lastReceivedSeq", s.lastReceivedSeq());
    m.put("topics", s.topics());
    return m;
  }

  /**
   * {@code POST /v1/publish} with {@code {"to": "bob"}}, {@code {"topic": "news"}} or {@code {"user":
   * "alice"}} (every device of that principal), and {@code "payload"} (UTF-8 text) or {@code
   * "payloadBase64"}: the backend's push.
   */
  private void publish(HttpExchange ex) throws IOException {
    JsonNode body = body(ex, "{\"to\": \"bob\", \"payload\": \"hello\"}");
    String to = text(body, "to");
    String topic = text(body, "topic");
    String user = text(body, "user");
    if ((to != null ? 1 : 0) + (topic != null ? 1 : 0) + (user != null ? 1 : 0) != 1) {
      throw new BadRequest(400, "give exactly one of \"to\" (a client id), \"topic\" and \"user\" (a principal)");
    }
    byte[] payload;
    if (text(body, "payload") != null) {
      payload = text(body, "payload").getBytes(StandardCharsets.UTF_8);
    } else if (text(body, "payloadBase64") != null) {
      try {
        payload = Base64.getDecoder().decode(text(body, "payloadBase64"));
      } catch (IllegalArgumentException e) {
        throw new BadRequest(400, "payloadBase64: not Base64");
      }
    } else {
      throw new BadRequest(400, "give \"payload\" (text) or \"payloadBase64\"");
    }
    int accepted;
    try {
      accepted = to != null ? node.publishToClient(to, payload)
          : topic != null ? node.publishToTopic(topic, payload) : node.publishToUser(user, payload);
    } catch (IllegalArgumentException e) {
      throw new BadRequest(400, e.getMessage());
    } catch (IllegalStateException e) {
      throw new BadRequest(503, "not sent: " + e.getMessage()); // the cluster store is unavailable
    }
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    if (to != null) {
      out.put("to", to);
    } else if (topic != null) {
      out.put("topic", topic);
    } else {
      out.put("user", user);
    }
    out.put("sessions", accepted); // buffered for delivery in this many sessions (0: nobody there)
    respond(ex, 200, JSON.writeValueAsString(out));
  }

  /**
   * {@code GET /v1/presence/{principal}}: the user's online devices on every node, with the node
   * and since when: {@code {"principal", "online", "devices": [{"device", "clientId", "sessionId",
   * "node", "since"}]}}.
   */
  private void presence(HttpExchange ex, String principal) throws IOException {
    List<io.longlink.server.DevicePresence> devices;
    try {
      devices = node.presence(java.net.URLDecoder.decode(principal, StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      throw new BadRequest(400, e.getMessage());
    } catch (IllegalStateException e) {
      throw new BadRequest(503, e.getMessage());
    }
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    out.put("principal", java.net.URLDecoder.decode(principal, StandardCharsets.UTF_8));
    out.put("online", !devices.isEmpty());
    List<Map<String, Object>> list = new ArrayList<>();
    for (io.longlink.server.DevicePresence d : devices) {
      Map<String, Object> m = new java.util.LinkedHashMap<>();
      m.put("device", d.deviceId());
      m.put("clientId", d.clientId());
      m.put("sessionId", d.sessionId());
      m.put("node", d.node());
      m.put("since", d.since().toString());
      list.add(m);
    }
    out.put("devices", list);
    respond(ex, 200, JSON.writeValueAsString(out));
  }

  private static String text(JsonNode body, String field) {
    JsonNode n = body.get(field);
    return n != null && n.isTextual() ? n.asText() : null;
  }

  /**
   * {@code POST /v1/shed} with {@code {"fraction": 0.25}} or {@code {"count": 1000}} (and optionally
   * {@code "spreadMs"}, default 10,000): moves that share of the connections to other nodes.
   */
  private void shed(HttpExchange ex) throws IOException {
    JsonNode body = body(ex, "{\"fraction\": 0.25} or {\"count\": 100}");
    int open = node.stats().connections();
    int count;
    if (body.has("count") && body.get("count").canConvertToInt() && body.get("count").asInt() >= 0) {
      count = body.get("count").asInt();
    } else if (body.has("fraction") && body.get("fraction").isNumber()
        && body.get("fraction").asDouble() >= 0 && body.get("fraction").asDouble() <= 1) {
      count = (int) Math.round(open * body.get("fraction").asDouble());
    } else {
      throw new BadRequest(400, "expected {\"fraction\": 0..1} or {\"count\": >= 0}");
    }
    long spreadMs = body.has("spreadMs") ? Math.max(0, body.get("spreadMs").asLong()) : 10_000;
    try {
      int shed = node.shed(count, java.time.Duration.ofMillis(spreadMs));
      respond(ex, 200, "{\"shed\":" + shed + ",\"connections\":" + open + "}");
    } catch (IllegalStateException e) {
      error(ex, 409, "node is " + node.state().name().toLowerCase());
    }
  }

  /** Starts a drain in the background; the node stops once every client has left or the timeout passed. */
  private void drain(HttpExchange ex) throws IOException {
    if (node.state() != LonglinkServer.State.RUNNING || onDrain == null) {
      error(ex, 409, "node is " + node.state().name().toLowerCase());
      return;
    }
    respond(ex, 202, "{\"status\":\"draining\"}"); // first: the drain ends by closing this server
    Thread.ofPlatform().name("longlink-drain").start(onDrain);
  }

  /** The request body as JSON: 413 past {@link #MAX_BODY_BYTES}, 400 if not a JSON object. */
  private static JsonNode body(HttpExchange ex, String example) throws IOException {
    byte[] raw;
    try (InputStream in = ex.getRequestBody()) {
      raw = in.readNBytes(MAX_BODY_BYTES + 1);
    }
    if (raw.length > MAX_BODY_BYTES) {
      throw new BadRequest(413, "body larger than " + MAX_BODY_BYTES + " bytes");
    }
    JsonNode body;
    try {
      body = JSON.readTree(raw);
    } catch (IOException e) {
      throw new BadRequest(400, "body: not JSON (expected: " + example + ")");
    }
    if (body == null || !body.isObject()) {
      throw new BadRequest(400, "body: not a JSON object (expected: " + example + ")");
    }
    return body;
  }

  private static Map<String, String> query(HttpExchange ex) {
    Map<String, String> q = new HashMap<>();
    String raw = ex.getRequestURI().getRawQuery();
    if (raw != null) {
      for (String pair : raw.split("&")) {
        int i = pair.indexOf('=');
        if (i > 0) {
          q.put(URLDecoder.decode(pair.substring(0, i), StandardCharsets.UTF_8),
              URLDecoder.decode(pair.substring(i + 1), StandardCharsets.UTF_8));
        }
      }
    }
    return q;
  }

  /** A client mistake, answered with its status and message. */
  private static final class BadRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;

    BadRequest(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  static void error(HttpExchange ex, int status, String message) throws IOException {
    respond(ex, status, JSON.writeValueAsString(Map.of("error", message)));
  }

  static void respond(HttpExchange ex, int status, String json) throws IOException {
    byte[] body = (json + "\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    http.stop(0);
    executor.shutdownNow();
  }
}
