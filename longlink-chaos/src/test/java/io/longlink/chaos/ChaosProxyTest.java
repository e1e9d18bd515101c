package io.longlink.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every toxic over real loopback sockets, against an echo upstream that records what it reads. */
class ChaosProxyTest {
  ServerSocket echo;
  final List<Integer> upstreamReads = new CopyOnWriteArrayList<>();
  ChaosProxy proxy;

  @BeforeEach
  void startEcho() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofPlatform().daemon().start(() -> {
      while (!echo.isClosed()) {
        try {
          Socket s = echo.accept();
          Thread.ofPlatform().daemon().start(() -> pump(s));
        } catch (IOException e) {
          return;
        }
      }
    });
    proxy = ChaosProxy.builder("test").listen(new InetSocketAddress("127.0.0.1", 0))
        .upstream((InetSocketAddress) echo.getLocalSocketAddress()).random(new Random(1)).build().start();
  }

  private void pump(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      byte[] buf = new byte[65536];
      for (int n; (n = in.read(buf)) >= 0; ) {
        upstreamReads.add(n);
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // closed
    }
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
  }

  Socket connect() throws IOException {
    Socket s = new Socket();
    s.connect(proxy.address(), 2000);
    s.setSoTimeout(5000);
    s.setTcpNoDelay(true);
    return s;
  }

  static byte[] roundTrip(Socket s, byte[] data) throws IOException {
    s.getOutputStream().write(data);
    s.getOutputStream().flush();
    byte[] back = new byte[data.length];
    new DataInputStream(s.getInputStream()).readFully(back);
    return back;
  }

  @Test
  void forwardsBothWaysWithoutToxics() throws IOException {
    try (Socket s = connect()) {
      byte[] data = new byte[200_000];
      new Random(3).nextBytes(data);
      assertThat(roundTrip(s, data)).isEqualTo(data);
      await().until(() -> proxy.connectionCount() == 1);
    }
  }

  @Test
  void latencyDelaysEveryChunk() throws IOException {
    proxy.addToxic(Toxic.latency("lag", Toxic.Stream.DOWNSTREAM, 200, 20));
    try (Socket s = connect()) {
      long t0 = System.nanoTime();
      roundTrip(s, "ping".getBytes());
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(180));
    }
  }

  @Test
  void bandwidthLimitsTheRate() throws IOException {
    proxy.addToxic(Toxic.bandwidth("slow", Toxic.Stream.DOWNSTREAM, 100_000));
    try (Socket s = connect()) {
      long t0 = System.nanoTime();
      roundTrip(s, new byte[50_000]);
      // 50 kB at 100 kB/s cannot take less than ~0.5 s (a lower bound, not a speed target).
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(450));
    }
  }

  @Test
  void slicerCutsWritesIntoSmallPieces() throws IOException {
    proxy.addToxic(Toxic.slicer("slices", Toxic.Stream.UPSTREAM, 10, 40));
    try (Socket s = connect()) {
      byte[] data = new byte[100];
      new Random(5).nextBytes(data);
      assertThat(roundTrip(s, data)).isEqualTo(data);
    }
    // TCP keeps no write boundaries: a reader stalled for more than the 40 ms between slices may get
    // two at once. Unsliced, the 100 bytes would arrive in one read.
    assertThat(upstreamReads.stream().mapToInt(Integer::intValue).sum()).isEqualTo(100);
    assertThat(upstreamReads).hasSizeGreaterThanOrEqualTo(5);
    assertThat(upstreamReads.stream().filter(n -> n <= 10).count()).isGreaterThanOrEqualTo(3);
  }

  @Test
  void blackholeSwallowsDataButKeepsTheConnectionOpen() throws IOException {
    proxy.addToxic(Toxic.blackhole("hole", Toxic.Stream.UPSTREAM));
    try (Socket s = connect()) {
      s.setSoTimeout(300);
      s.getOutputStream().write("lost".getBytes());
      assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
      proxy.removeToxic("hole");
      s.setSoTimeout(5000);
      assertThat(roundTrip(s, "back".getBytes())).isEqualTo("back".getBytes()); // same socket, still open
    }
  }

  @Test
  void resetClosesBothSidesWithRst() throws IOException {
    try (Socket s = connect()) {
      roundTrip(s, "x".getBytes());
      proxy.addToxic(Toxic.reset("rst"));
      assertThatThrownBy(() -> {
        for (int i = 0; i < 100; i++) {
          s.getOutputStream().write(new byte[1000]);
          if (s.getInputStream().read() < 0) {
            return;
          }
        }
      }).isInstanceOf(SocketException.class).hasMessageContaining("reset");
    }
  }

  @Test
  void closeEndsTheConnectionNormally() throws IOException {
    try (Socket s = connect()) {
      roundTrip(s, "x".getBytes());
      proxy.addToxic(Toxic.close("fin"));
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void limitDataClosesAfterNBytes() throws IOException {
    proxy.addToxic(Toxic.limitData("cap", Toxic.Stream.DOWNSTREAM, 10));
    try (Socket s = connect()) {
      s.getOutputStream().write(new byte[20]);
      byte[] got = s.getInputStream().readAllBytes();
      assertThat(got).hasSize(10);
    }
  }

  @Test
  void timeoutSwallowsThenCloses() throws IOException {
    proxy.addToxic(Toxic.timeout("stall", Toxic.Stream.UPSTREAM, 300));
    try (Socket s = connect()) {
      s.getOutputStream().write("stalled".getBytes());
      assertThat(s.getInputStream().read()).isEqualTo(-1); // nothing came back, then the close
    }
  }

  @Test
  void toxicityDecidesPerConnection() throws IOException {
    proxy.addToxic(Toxic.close("half").withToxicity(0.5));
    int closed = 0;
    for (int i = 0; i < 40; i++) {
      try (Socket s = connect()) {
        s.getOutputStream().write('x');
        if (s.getInputStream().read() < 0) {
          closed++;
        }
      }
    }
    assertThat(closed).isBetween(8, 32);
    proxy.removeToxic("half");
    proxy.addToxic(Toxic.close("never").withToxicity(0));
    try (Socket s = connect()) {
      assertThat(roundTrip(s, "ok".getBytes())).isEqualTo("ok".getBytes());
    }
  }

  @Test
  void disabledProxyRefusesConnectionsAndComesBackOnTheSamePort() throws IOException {
    int port = proxy.address().getPort();
    proxy.setEnabled(false);
    assertThatThrownBy(() -> roundTrip(connect(), "x".getBytes())).isInstanceOf(IOException.class);
    proxy.setEnabled(true);
    assertThat(proxy.address().getPort()).isEqualTo(port);
    try (Socket s = connect()) {
      assertThat(roundTrip(s, "again".getBytes())).isEqualTo("again".getBytes());
    }
  }

  @Test
  void badToxicsNameWhatIsWrong() {
    assertThatThrownBy(() -> Toxic.latency("x", Toxic.Stream.UPSTREAM, 10, 20)).hasMessage("jitter: 20 (expected: 0..latency)");
    assertThatThrownBy(() -> Toxic.bandwidth("x", Toxic.Stream.UPSTREAM, 0)).hasMessage("rate: 0 (expected: > 0 bytes/s)");
    assertThatThrownBy(() -> Toxic.close("x").withToxicity(1.5)).hasMessage("toxicity: 1.5 (expected: 0..1)");
    proxy.addToxic(Toxic.close("dup").withToxicity(0));
    assertThatThrownBy(() -> proxy.addToxic(Toxic.close("dup"))).hasMessageContaining("toxic 'dup' exists");
  }

  @Test
  void controlApiManagesToxicsAndRejectsBadInput() throws Exception {
    try (ChaosControl control = ChaosControl.start(new InetSocketAddress("127.0.0.1", 0)).register(proxy)) {
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://127.0.0.1:" + control.address().getPort();
      HttpResponse<String> add = http.send(HttpRequest.newBuilder(URI.create(base + "/proxies/test/toxics"))
          .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"lag\",\"type\":\"latency\",\"stream\":\"upstream\","
              + "\"attributes\":{\"latency\":100,\"jitter\":10}}")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(add.statusCode()).as(add.body()).isEqualTo(200);
      assertThat(proxy.toxics()).containsExactly(Toxic.latency("lag", Toxic.Stream.UPSTREAM, 100, 10));
      HttpResponse<String> list = http.send(HttpRequest.newBuilder(URI.create(base + "/proxies")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(list.body()).contains("\"lag\"", "\"latency\":100", "\"enabled\":true");
      assertThat(status(http, base + "/proxies/test/toxics", "{\"name\":\"lag\",\"type\":\"latency\"}")).isEqualTo(409);
      assertThat(status(http, base + "/proxies/test/toxics", "{not json")).isEqualTo(400);
      assertThat(status(http, base + "/proxies/test/toxics", "{\"name\":\"z\",\"type\":\"teleport\"}")).isEqualTo(400);
      assertThat(status(http, base + "/proxies/test/toxics",
          "{\"name\":\"z\",\"type\":\"bandwidth\",\"attributes\":{\"rate\":\"fast\"}}")).isEqualTo(400);
      assertThat(status(http, base + "/proxies/nope/toxics", "{}")).isEqualTo(404);
      assertThat(status(http, base + "/proxies/test", "{\"enabled\":false}")).isEqualTo(200);
      assertThat(proxy.enabled()).isFalse();
      HttpResponse<String> del = http.send(HttpRequest.newBuilder(URI.create(base + "/proxies/test/toxics/lag"))
          .DELETE().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(del.statusCode()).isEqualTo(204);
      assertThat(proxy.toxics()).isEmpty();
      assertThat(status(http, base + "/reset", "")).isEqualTo(204);
      assertThat(proxy.enabled()).isTrue();
      HttpResponse<String> missing = http.send(HttpRequest.newBuilder(URI.create(base + "/proxies/test/toxics/lag"))
          .DELETE().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(missing.statusCode()).isEqualTo(404);
      assertThat(missing.body()).contains("\"error\"");
    }
  }

  static int status(HttpClient http, String url, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode();
  }
}
