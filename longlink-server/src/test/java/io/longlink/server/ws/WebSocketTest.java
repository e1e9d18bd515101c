package io.longlink.server.ws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.SessionStatus;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.testing.RawClient;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.WebSocketOptions;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The WebSocket listener over real sockets: same frames and sessions as TCP, and every bad request refused and counted. */
class WebSocketTest {
  LonglinkServer server;

  LonglinkServer start(WebSocketOptions ws) {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).handshakeTimeout(Duration.ofSeconds(1))
        .webSocket(ws).build()).build().start();
    return server;
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  double failures(String reason) {
    return server.meterRegistry().find("longlink.ws.failures").tag("reason", reason).functionCounter().count();
  }

  @Test
  void framesAndSessionsAreTheSameAsOverTcpAndResumeAcrossTransports() throws Exception {
    start(WebSocketOptions.on(0));
    try (RawClient bob = RawClient.login(server.localAddress(), "bob"); WsClient alice = WsClient.connect(server.webSocketAddress())) {
      alice.send(Frame.Hello.newSession("alice", ""));
      Frame.Welcome w = (Frame.Welcome) alice.read();
      assertThat(w.sessionStatus()).isEqualTo(SessionStatus.NEW);
      // Several frames in one message, and one frame cut over two messages.
      alice.send(new Frame.Data(1, TargetKind.CLIENT, "bob", "", "one".getBytes()),
          new Frame.Data(2, TargetKind.CLIENT, "bob", "", "two".getBytes()));
      byte[] third = encode(new Frame.Data(3, TargetKind.CLIENT, "bob", "", "three".getBytes()));
      alice.ws.sendBinary(ByteBuffer.wrap(third, 0, 5), false).join();
      alice.ws.sendBinary(ByteBuffer.wrap(third, 5, third.length - 5), true).join();
      assertThat(alice.readUntil(Frame.Ack.class).seq()).isLessThanOrEqualTo(3);
      for (String m : List.of("one", "two", "three")) {
        assertThat(new String(bob.readUntil(Frame.Data.class).payload(), StandardCharsets.UTF_8)).isEqualTo(m);
      }
      bob.send(new Frame.Data(1, TargetKind.CLIENT, "alice", "", "to-ws".getBytes()));
      Frame.Data got = alice.readUntil(Frame.Data.class);
      assertThat(got.from()).isEqualTo("bob");
      assertThat(got.payload()).isEqualTo("to-ws".getBytes());
      alice.ws.sendPing(ByteBuffer.wrap(new byte[] {7})).join();
      assertThat(alice.pongs.poll(5, TimeUnit.SECONDS)).isEqualTo(ByteBuffer.wrap(new byte[] {7}));

      // The WebSocket session goes on over TCP: resumed, and what bob sent meanwhile replayed.
      alice.close();
      bob.send(new Frame.Data(2, TargetKind.CLIENT, "alice", "", "while-away".getBytes()));
      bob.readAckOf(2);
      try (RawClient tcp = RawClient.connect(server.localAddress())) {
        tcp.send(new Frame.Hello(Frame.VERSION, "alice", "", w.sessionId(), 1, 1));
        Frame.Welcome again = tcp.readUntil(Frame.Welcome.class);
        assertThat(again.sessionStatus()).isEqualTo(SessionStatus.RESUMED);
        assertThat(again.lastReceivedSeq()).isEqualTo(3);
        assertThat(tcp.readUntil(Frame.Data.class).payload()).isEqualTo("while-away".getBytes());
        tcp.abort();
      }
      // And back over WebSocket.
      try (WsClient ws = WsClient.connect(server.webSocketAddress())) {
        ws.send(new Frame.Hello(Frame.VERSION, "alice", "", w.sessionId(), 2, 2));
        assertThat(((Frame.Welcome) ws.read()).sessionStatus()).isEqualTo(SessionStatus.RESUMED);
      }
    }
  }

  @Test
  void wssUsesTheGatewaysCertificate(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    io.longlink.testing.TestPki pki = io.longlink.testing.TestPki.create("ws", dir);
    io.longlink.testing.TestPki.Issued cert = pki.server("server");
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).webSocket(WebSocketOptions.on(0)).build())
        .tls(io.longlink.server.ServerTls.of(cert.certificateFile(), cert.keyFile())).build().start();
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", pki.ca());
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
        javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    java.util.concurrent.CompletableFuture<ByteBuffer> first = new java.util.concurrent.CompletableFuture<>();
    java.net.http.WebSocket ws = java.net.http.HttpClient.newBuilder().sslContext(ssl).build().newWebSocketBuilder()
        .subprotocols(WebSocketOptions.SUBPROTOCOL)
        .buildAsync(java.net.URI.create("wss://localhost:" + server.webSocketAddress().getPort() + "/longlink"),
            new java.net.http.WebSocket.Listener() {
              @Override
              public java.util.concurrent.CompletionStage<?> onBinary(java.net.http.WebSocket w, ByteBuffer data,
                  boolean last) {
                first.complete(ByteBuffer.allocate(data.remaining()).put(data).flip());
                return null;
              }
            }).get(10, TimeUnit.SECONDS);
    ws.sendBinary(ByteBuffer.wrap(encode(Frame.Hello.newSession("secure", ""))), true).get(10, TimeUnit.SECONDS);
    Frame answer = io.longlink.protocol.FrameDecoder.decodeOne(io.netty.buffer.Unpooled.wrappedBuffer(
        first.get(10, TimeUnit.SECONDS)), FrameCodec.DEFAULT_MAX_FRAME_SIZE);
    assertThat(answer).isInstanceOf(Frame.Welcome.class);
    ws.abort();
    // Plain ws:// to the TLS listener never upgrades.
    assertThat(http(server.webSocketAddress().getPort(), upgrade("/longlink", null, null))).doesNotStartWith("HTTP/1.1 101");
  }

  @Test
  void aDrainSendsGoAwayOverWebSocketToo() throws Exception {
    start(WebSocketOptions.on(0));
    try (WsClient alice = WsClient.connect(server.webSocketAddress())) {
      alice.send(Frame.Hello.newSession("alice", ""));
      alice.read();
      Thread drain = new Thread(() -> {
        try {
          server.drain(Duration.ZERO, Duration.ofSeconds(5));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      drain.start();
      Frame.GoAway g = alice.readUntil(Frame.GoAway.class);
      assertThat(g.code()).isEqualTo(ErrorCode.SERVER_SHUTDOWN);
      alice.close();
      drain.join(10_000);
      assertThat(drain.isAlive()).isFalse();
    }
  }

  @Test
  void textOversizedAndBrokenMessagesCloseWithTheirCodeAndOthersCarryOn() throws Exception {
    start(WebSocketOptions.on(0));
    try (WsClient other = WsClient.connect(server.webSocketAddress())) {
      other.send(Frame.Hello.newSession("other", ""));
      other.read();
      try (WsClient text = WsClient.connect(server.webSocketAddress())) {
        text.ws.sendText("hello", true).join();
        assertThat(text.closeCode.get(5, TimeUnit.SECONDS)).isEqualTo(1003);
      }
      assertThat(closeCodeForOversizedHeader(server.webSocketAddress().getPort())).isEqualTo(1009);
      try (WsClient bad = WsClient.connect(server.webSocketAddress())) {
        bad.send(Frame.Hello.newSession("bad", ""));
        bad.read();
        bad.ws.sendBinary(ByteBuffer.wrap(new byte[] {0, 0, 0, 0}), true).join(); // a frame of length 0
        Frame.Error e = bad.readUntil(Frame.Error.class);
        assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
      }
      assertThat(failures("text")).isEqualTo(1);
      assertThat(failures("too_large")).isEqualTo(1);
      other.send(new Frame.Ping(42));
      assertThat(other.readUntil(Frame.Pong.class).timestamp()).isEqualTo(42);
    }
  }

  @Test
  void badUpgradesGetAnHttpStatusAndAreCounted() throws Exception {
    start(new WebSocketOptions(0, "/longlink", List.of("https://chat.example")));
    int port = server.webSocketAddress().getPort();
    assertThat(http(port, "GET /longlink HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 426");
    assertThat(http(port, upgrade("/elsewhere", null, null))).startsWith("HTTP/1.1 404");
    assertThat(http(port, upgrade("/longlink", "https://evil.example", null))).startsWith("HTTP/1.1 403");
    assertThat(http(port, upgrade("/longlink", "https://chat.example", "mqtt"))).startsWith("HTTP/1.1 400");
    assertThat(http(port, upgrade("/longlink", "https://chat.example", "longlink.v1"))).startsWith("HTTP/1.1 101");
    assertThat(http(port, "NONSENSE\r\n\r\n")).startsWith("HTTP/1.");
    assertThat(failures("bad_upgrade")).isEqualTo(2);
    assertThat(failures("not_found")).isEqualTo(1);
    assertThat(failures("origin")).isEqualTo(1);
    assertThat(failures("subprotocol")).isEqualTo(1);
  }

  @Test
  void aSlowUpgradeIsAnsweredWithinTheHandshakeTimeout() throws Exception {
    start(WebSocketOptions.on(0));
    try (Socket s = new Socket("127.0.0.1", server.webSocketAddress().getPort())) {
      s.setSoTimeout(5_000);
      s.getOutputStream().write("GET /longlink HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
      long start = System.nanoTime();
      String status = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
      assertThat(status).startsWith("HTTP/1.1 408");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> failures("timeout") == 1);
  }

  @Test
  void offLoopbackWithoutAListNoBrowserOriginIsAllowed() throws Exception {
    server = LonglinkServer.builder().config(ServerConfig.builder().host("0.0.0.0").port(0)
        .webSocket(WebSocketOptions.on(0)).build()).build().start();
    int port = server.webSocketAddress().getPort();
    assertThat(http(port, upgrade("/longlink", "http://127.0.0.1:8080", "longlink.v1"))).startsWith("HTTP/1.1 403");
    assertThat(http(port, upgrade("/longlink", null, "longlink.v1"))).startsWith("HTTP/1.1 101"); // a native client
  }

  /**
   * Upgrades on a raw socket, then sends only the header of a binary WebSocket frame one byte over
   * the limit (the JDK's client would send the whole megabyte, and the gateway's close would race
   * the reset its unread bytes cause); returns the status code of the close frame that comes back.
   */
  static int closeCodeForOversizedHeader(int port) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5_000);
      s.getOutputStream().write(upgrade("/longlink", null, "longlink.v1").getBytes(StandardCharsets.US_ASCII));
      java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream());
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        head.append((char) in.readUnsignedByte());
      }
      assertThat(head.toString()).startsWith("HTTP/1.1 101");
      long length = FrameCodec.DEFAULT_MAX_FRAME_SIZE + 5L;
      ByteBuffer header = ByteBuffer.allocate(14).put((byte) 0x82).put((byte) (0x80 | 127)).putLong(length)
          .putInt(0x01020304);
      s.getOutputStream().write(header.array());
      int op = in.readUnsignedByte();
      int len = in.readUnsignedByte();
      assertThat(op).as("a close frame").isEqualTo(0x88);
      assertThat(len).isGreaterThanOrEqualTo(2);
      return in.readUnsignedShort();
    }
  }

  static String upgrade(String path, String origin, String protocol) {
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + (origin == null ? "" : "Origin: " + origin + "\r\n")
        + (protocol == null ? "" : "Sec-WebSocket-Protocol: " + protocol + "\r\n") + "\r\n";
  }

  /** The status line the listener answers {@code request} with. */
  static String http(int port, String request) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
      return line == null ? "" : line;
    }
  }

  static byte[] encode(Frame f) {
    io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.buffer();
    FrameCodec.encode(f, b);
    byte[] bytes = new byte[b.readableBytes()];
    b.readBytes(bytes).release();
    return bytes;
  }

}
