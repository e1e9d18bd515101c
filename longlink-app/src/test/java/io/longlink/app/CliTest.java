package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.Frame;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.protocol.testing.RawClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.longlink.cli.Durations;

/** The command line, run in-process against a gateway on a free port. */
class CliTest {
  LonglinkServer server;

  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(code, out.toString(), err.toString());
  }

  static CompletableFuture<Result> runAsync(String... args) {
    return CompletableFuture.supplyAsync(() -> run(args));
  }

  String address() {
    InetSocketAddress a = server.localAddress();
    return "127.0.0.1:" + a.getPort();
  }

  void startServer() {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build().start();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void receiverPrintsWhatTheSenderSentAsJson() throws Exception {
    startServer();
    CompletableFuture<Result> bob = runAsync("client", "--id", "bob", "--server", address(), "--receive", "1", "--json",
        "--timeout", "20s");
    await().until(() -> server.stats().sessions() == 1);
    Result alice = run("client", "--id", "alice", "--server", address(), "--to", "bob", "--send", "hello");
    assertThat(alice.code()).as(alice.err()).isZero();
    assertThat(alice.err()).contains("1 message(s) acknowledged");
    Result b = bob.get(20, TimeUnit.SECONDS);
    assertThat(b.code()).as(b.err()).isZero();
    assertThat(b.out()).isEqualTo("{\"from\":\"alice\",\"to\":\"bob\",\"seq\":1,\"payload\":\"hello\"}" + System.lineSeparator());
  }

  @Test
  void sendCountNumbersPayloadsAndTopicsWork() throws Exception {
    startServer();
    CompletableFuture<Result> bob = runAsync("client", "--id", "bob", "--server", address(), "--subscribe", "news",
        "--receive", "3", "--timeout", "20s");
    await().until(() -> server.stats().topics() == 1);
    Result alice = run("client", "--id", "alice", "--server", address(), "--topic", "news", "--send", "m", "--send-count", "3");
    assertThat(alice.code()).as(alice.err()).isZero();
    Result b = bob.get(20, TimeUnit.SECONDS);
    assertThat(b.code()).isZero();
    assertThat(b.out().lines()).containsExactly("alice [news]: m0", "alice [news]: m1", "alice [news]: m2");
  }

  @Test
  void receiveTimesOutWithExitCode1() {
    startServer();
    Result r = run("client", "--id", "bob", "--server", address(), "--receive", "1", "--timeout", "300ms");
    assertThat(r.code()).isEqualTo(ClientCommand.TIMEOUT);
    assertThat(r.err()).contains("received 0 of 1");
  }

  @Test
  void unreachableServerFailsWithExitCode3() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Result r = run("client", "--id", "bob", "--server", "127.0.0.1:" + port, "--to", "x", "--send", "a");
    assertThat(r.code()).isEqualTo(ClientCommand.FAILED);
    assertThat(r.err()).contains("failed");
  }

  @Test
  void usageErrorsExplainThemselves() {
    assertThat(run("client", "--id", "a", "--send", "x").err()).contains("--send needs --to ID, --topic TOPIC or --to-user PRINCIPAL");
    assertThat(run("client", "--id", "a", "--to", "b", "--topic", "t").code()).isEqualTo(2);
    assertThat(run("client").err()).contains("Missing required option: '--id=<id>'");
    assertThat(run("server", "--heartbeat-interval", "soon").err()).contains("soon");
    Result refused = run("server", "--port", "0", "--admin-port", "-1", "--ws-port", "-1", "--io-thread-slice", "50us");
    assertThat(refused.code()).isEqualTo(2);
    assertThat(refused.err()).contains("longlink server: ioThreadSlice: PT0.00005S (expected: 0 or 100us..100ms)")
        .doesNotContain("\tat ");
    Result help = run("--help");
    assertThat(help.out()).contains("server", "client");
    assertThat(run("server", "--help").out()).contains("--heartbeat-interval", "--config");
  }

  @Test
  void serverCommandReadsItsConfigFileServesHealthzAndStopsOnInterrupt(@TempDir Path dir) throws Exception {
    int port = freePort();
    int adminPort = freePort();
    Path conf = dir.resolve("longlink.conf");
    int wsPort = freePort();
    Files.writeString(conf, "port=" + port + "\nadmin-port=" + adminPort + "\nws-port=" + wsPort
        + "\nheartbeat-interval=10s\n");
    Thread serverThread = new Thread(() -> run("server", "--config", conf.toString(), "--heartbeat-misses", "4"));
    serverThread.start();
    try {
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest healthz = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/healthz")).build();
      await().ignoreExceptions().until(() -> http.send(healthz, HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
      try (RawClient c = RawClient.connect(new InetSocketAddress("127.0.0.1", port))) {
        c.send(Frame.Hello.newSession("probe", ""));
        Frame.Welcome w = c.readUntil(Frame.Welcome.class);
        assertThat(w.heartbeatIntervalMs()).isEqualTo(10_000); // from the file
        assertThat(w.heartbeatMisses()).isEqualTo(4); // the flag wins over the default
      }
      // The WebSocket port from the file: a HELLO in a binary message gets its WELCOME back.
      java.util.concurrent.CompletableFuture<byte[]> welcome = new java.util.concurrent.CompletableFuture<>();
      java.net.http.WebSocket ws = http.newWebSocketBuilder().subprotocols("longlink.v1")
          .buildAsync(URI.create("ws://127.0.0.1:" + wsPort + "/longlink"), new java.net.http.WebSocket.Listener() {
            @Override
            public java.util.concurrent.CompletionStage<?> onBinary(java.net.http.WebSocket w, java.nio.ByteBuffer data,
                boolean last) {
              byte[] b = new byte[data.remaining()];
              data.get(b);
              welcome.complete(b);
              return null;
            }
          }).get(10, java.util.concurrent.TimeUnit.SECONDS);
      io.netty.buffer.ByteBuf hello = io.netty.buffer.Unpooled.buffer();
      io.longlink.protocol.FrameCodec.encode(Frame.Hello.newSession("ws-probe", ""), hello);
      ws.sendBinary(hello.nioBuffer(), true).get(10, java.util.concurrent.TimeUnit.SECONDS);
      hello.release();
      io.netty.buffer.ByteBuf answer = io.netty.buffer.Unpooled.wrappedBuffer(welcome.get(10,
          java.util.concurrent.TimeUnit.SECONDS));
      assertThat(io.longlink.protocol.FrameDecoder.decodeOne(answer, 1 << 20)).isInstanceOf(Frame.Welcome.class);
      ws.abort();
      Result conns = run("bench", "connections", "--server", "127.0.0.1:" + wsPort, "--ws", "--count", "40", "--rate",
          "400", "--hold", "1s", "--settle", "100ms", "--out", dir.resolve("ws.json").toString());
      assertThat(conns.code()).as(conns.err() + conns.out()).isZero();
      assertThat(conns.out()).contains("40 connected, 0 failed");
      HttpRequest unknown = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/nope")).build();
      assertThat(http.send(unknown, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
    } finally {
      serverThread.interrupt();
      serverThread.join(10_000);
    }
    assertThat(serverThread.isAlive()).isFalse();
  }

  /**
   * The main job on the internet's terms: the client port and the admin API over TLS from PEM files,
   * the CLI client and the bench load generator with --tls, and a reload through the admin API.
   */
  @Test
  void serverOverTlsServesTheCliClientTheBenchAndHttpsAdmin(@TempDir Path dir) throws Exception {
    io.longlink.testing.TestPki pki = io.longlink.testing.TestPki.create("cli", dir);
    io.longlink.testing.TestPki.Issued cert = pki.server("server");
    int port = freePort();
    int adminPort = freePort();
    Thread serverThread = new Thread(() -> run("server", "--port", String.valueOf(port), "--admin-port",
        String.valueOf(adminPort), "--ws-port", "-1", "--tls-cert", cert.certificateFile().toString(), "--tls-key", cert.keyFile().toString()));
    serverThread.start();
    try {
      javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
      java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setCertificateEntry("ca", pki.ca());
      tmf.init(ks);
      javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      HttpClient https = HttpClient.newBuilder().sslContext(ssl).build();
      String admin = "https://localhost:" + adminPort;
      await().ignoreExceptions().until(() -> https.send(HttpRequest.newBuilder(URI.create(admin + "/healthz")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
      String server = "localhost:" + port;
      CompletableFuture<Result> bob = runAsync("client", "--id", "bob", "--server", server, "--tls", "--tls-ca",
          pki.caFile().toString(), "--receive", "1", "--timeout", "20s");
      await().until(() -> https.send(HttpRequest.newBuilder(URI.create(admin + "/v1/stats")).build(),
          HttpResponse.BodyHandlers.ofString()).body().contains("\"attached\":1"));
      Result alice = run("client", "--id", "alice", "--server", server, "--tls", "--tls-ca", pki.caFile().toString(),
          "--to", "bob", "--send", "sealed");
      assertThat(alice.code()).as(alice.err()).isZero();
      assertThat(bob.get(20, TimeUnit.SECONDS).out()).contains("sealed");
      // Without --tls the CLI client is told what is wrong.
      Result plain = run("client", "--id", "carol", "--server", server, "--to", "bob", "--send", "x", "--no-reconnect");
      assertThat(plain.code()).isNotZero();
      assertThat(plain.err()).contains("speaks TLS");

      // A new certificate in the same files: after the reload, new admin connections get it too.
      io.longlink.testing.TestPki.Issued renewed = pki.server("renewed");
      Files.copy(renewed.certificateFile(), cert.certificateFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Files.copy(renewed.keyFile(), cert.keyFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      HttpResponse<String> reloaded = https.send(HttpRequest.newBuilder(URI.create(admin + "/v1/tls/reload"))
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(reloaded.statusCode()).as(reloaded.body()).isEqualTo(200);
      HttpResponse<String> fresh = HttpClient.newBuilder().sslContext(ssl).build().send(
          HttpRequest.newBuilder(URI.create(admin + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(((java.security.cert.X509Certificate) fresh.sslSession().orElseThrow().getPeerCertificates()[0])
          .getSerialNumber()).isEqualTo(renewed.certificate().getSerialNumber());
      HttpResponse<String> crossSite = https.send(HttpRequest.newBuilder(URI.create(admin + "/v1/tls/reload"))
          .header("Origin", "https://evil.example").POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(crossSite.statusCode()).isEqualTo(403);

      Result conns = run("bench", "connections", "--server", "127.0.0.1:" + port, "--tls", "--count", "40", "--rate",
          "400", "--hold", "1s", "--settle", "100ms", "--out", dir.resolve("c.json").toString());
      assertThat(conns.code()).as(conns.err() + conns.out()).isZero();
      assertThat(conns.out()).contains("40 connected, 0 failed");
    } finally {
      serverThread.interrupt();
      serverThread.join(10_000);
    }
    assertThat(serverThread.isAlive()).isFalse();
  }

  /** The bench commands must keep working; their figures are in docs/BENCHMARKS.md, not asserted. */
  @Test
  void benchCommandsRunSmallSmokeVersions(@TempDir Path dir) throws IOException {
    Result resume = run("bench", "resume", "--pending", "50", "--rounds", "2", "--out", dir.resolve("r.json").toString());
    assertThat(resume.code()).as(resume.err()).isZero();
    assertThat(resume.out()).contains("resume with 50 pending");
    assertThat(Files.readString(dir.resolve("r.json"))).contains("\"first_replayed_ms_p50\"");
    startServer();
    Result conns = run("bench", "connections", "--server", address(), "--count", "200", "--rate", "2000", "--hold", "1s",
        "--settle", "100ms", "--per-process", "150", "--out", dir.resolve("c.json").toString());
    assertThat(conns.code()).as(conns.err() + conns.out()).isZero();
    assertThat(conns.out()).contains("200 connected, 0 failed");
    assertThat(Files.readString(dir.resolve("c.json"))).contains("\"connected\":200");
    assertThat(Files.readString(dir.resolve("c.json"))).contains("\"p99\":").contains("\"load_generator\":")
        .containsPattern("\"load_generator\":\\{\"processes\":2,\"heap_bytes_per_connection\":-?[0-9.]+,")
        .contains("\"heap_bytes_per_connection_with_baseline\":");
    assertThat(conns.out()).containsPattern("load generator \\(2 processes\\): -?\\d+ B heap and -?\\d+ B RSS per "
        + "connection \\(slope over each process's second half\\)");
    Result acks = run("bench", "acks", "--messages", "2000", "--window", "500");
    assertThat(acks.code()).as(acks.err()).isZero();
    assertThat(acks.out()).contains("acks batched").contains("msg/s");
    Result flow = run("bench", "throughput", "--rate", "2000", "--duration", "1s", "--warmup", "200ms");
    assertThat(flow.code()).as(flow.err() + flow.out()).isZero();
    assertThat(flow.out()).contains("delivered 2,400 of 2,400").contains("lost 0, duplicated 0, reordered 0");
    Result peerWithoutServer = run("bench", "throughput", "--wire", "nats", "--rate", "10");
    assertThat(peerWithoutServer.code()).isNotZero();
    assertThat(peerWithoutServer.err()).contains("--wire NATS needs --server HOST:PORT");
    Result badSlice = run("bench", "throughput", "--client-slice", "1s", "--rate", "10");
    assertThat(badSlice.code()).isEqualTo(2);
    assertThat(badSlice.err()).contains("longlink throughput: --client-slice: PT1S (expected: 0s or 100us..100ms)");
    Result fanout = run("bench", "fanout", "--subscribers", "20", "--rate", "200", "--duration", "1s", "--warmup", "0s",
        "--server-pid", String.valueOf(ProcessHandle.current().pid()), "--out", dir.resolve("f.json").toString());
    assertThat(fanout.code()).as(fanout.err() + fanout.out()).isZero();
    String fanoutJson = Files.readString(dir.resolve("f.json"));
    assertThat(fanoutJson).contains("\"delivered\":4000").contains("\"lost\":0");
    // Both CPU figures measured (here the same process: the gateway runs in the test's JVM).
    assertThat(fanout.out()).contains("CPU while measured: load generator (with the gateway, in this process)");
    Matcher serverCpu = Pattern.compile("\"server_cpu_cores\":([-0-9.]+)").matcher(fanoutJson);
    assertThat(serverCpu.find()).isTrue();
    assertThat(Double.parseDouble(serverCpu.group(1))).isPositive();
    Result storm = run("bench", "storm", "--clients", "50", "--out", dir.resolve("st.json").toString());
    assertThat(storm.code()).as(storm.err() + storm.out()).isZero();
    assertThat(storm.out()).contains("50 of 50 clients back").contains("sessions lost 50");
    Result drained = run("bench", "storm", "--clients", "50", "--mode", "drain", "--drain-spread", "500");
    assertThat(drained.code()).as(drained.err() + drained.out()).isZero();
    assertThat(drained.out()).contains("storm (drain): 50 of 50 clients back")
        .contains("messages acknowledged 250, delivered 250, lost 0");
    Result sessions = run("bench", "sessions", "--count", "10000", "--out", dir.resolve("s.json").toString());
    assertThat(sessions.code()).as(sessions.err() + sessions.out()).isZero();
    assertThat(sessions.out()).contains("10,000 logged in, 0 failed");
    String sessionsJson = Files.readString(dir.resolve("s.json"));
    assertThat(sessionsJson).contains("\"connected\":10000").contains("\"liveness_sweep_ms\"");
    // Replay buffers are freed once acked: what is left per session is far below one buffer (>= 56 B).
    java.util.regex.Matcher left = java.util.regex.Pattern.compile("\"longlink_bytes_per_session_after_publish\":([-0-9.]+)")
        .matcher(sessionsJson);
    assertThat(left.find()).isTrue();
    assertThat(Double.parseDouble(left.group(1))).isLessThan(32);
  }

  /** The peer-comparison path: the bare Netty server and the load generator's plain-TCP mode. */
  @Test
  void benchConnectionsAgainstTheBareNettyServer(@TempDir Path dir) throws Exception {
    int port = freePort();
    Thread bare = new Thread(() -> run("bench", "bare-server", "--port", String.valueOf(port)));
    bare.start();
    try {
      await().until(() -> {
        try (java.net.Socket probe = new java.net.Socket("127.0.0.1", port)) {
          return true;
        } catch (IOException e) {
          return false;
        }
      });
      Result r = run("bench", "connections", "--protocol", "TCP", "--server", "127.0.0.1:" + port, "--count", "300",
          "--rate", "3000", "--hold", "1s", "--settle", "100ms", "--heartbeat", "200ms", "--plot", dir.resolve("p.html").toString());
      assertThat(r.code()).as(r.err() + r.out()).isZero();
      assertThat(r.out()).contains("300 connected, 0 failed");
      assertThat(Files.readString(dir.resolve("p.html"))).contains("<svg").contains("connected");
    } finally {
      bare.interrupt();
      bare.join(10_000);
    }
    assertThat(bare.isAlive()).isFalse();
  }

  @Test
  void chaosCommandProxiesToTheGatewayAndTakesToxicsOverHttp() throws Exception {
    startServer();
    int listen = freePort();
    int control = freePort();
    Thread chaos = new Thread(() -> run("chaos", "--listen", "127.0.0.1:" + listen, "--upstream", address(),
        "--control", "127.0.0.1:" + control));
    chaos.start();
    try {
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest list = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + control + "/proxies")).build();
      await().ignoreExceptions().until(() -> http.send(list, HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
      Result through = run("client", "--id", "alice", "--server", "127.0.0.1:" + listen, "--to", "alice", "--send", "hi");
      assertThat(through.code()).as(through.err()).isZero();
      HttpResponse<String> add = http.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + control + "/proxies/longlink/toxics"))
          .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"cut\",\"type\":\"reset\"}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(add.statusCode()).isEqualTo(200);
      Result refused = run("client", "--id", "bob", "--server", "127.0.0.1:" + listen, "--to", "bob", "--send", "x",
          "--timeout", "5s");
      assertThat(refused.code()).isNotZero(); // every connection is reset now
    } finally {
      chaos.interrupt();
      chaos.join(10_000);
    }
  }

  @Test
  void durationsParse() {
    assertThat(Durations.parse("100us")).isEqualTo(Duration.ofNanos(100_000));
    assertThat(Durations.format(Duration.ofNanos(100_000))).isEqualTo("100us");
    assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Durations.parse("PT1H")).isEqualTo(Duration.ofHours(1));
    assertThatThrownBy(() -> Durations.parse("soon")).hasMessageContaining("'soon' (expected: e.g. 100us, 250ms");
  }

  @Test
  void jsonQuotingEscapesWhatMustBeEscaped() {
    assertThat(Json.quote("a\"b\\c\n\u0001\uD83D\uDE00")).isEqualTo("\"a\\\"b\\\\c\\n\\u0001\uD83D\uDE00\"");
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
