package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.TargetKind;
import io.longlink.server.Limits.Limit;
import io.longlink.protocol.testing.RawClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One test per bound: the offender gets a clear ERROR and is closed, the refusal is counted, and
 * a well-behaved client on the same server carries on.
 */
class LimitsTest {
  LonglinkServer server;
  final List<RawClient> clients = new ArrayList<>();

  InetSocketAddress start(Limits limits) {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).limits(limits).build()).build().start();
    return server.localAddress();
  }

  RawClient connect(InetSocketAddress a, String source) throws IOException {
    RawClient c = RawClient.connect(a, InetAddress.getByName(source));
    clients.add(c);
    return c;
  }

  RawClient login(InetSocketAddress a, String source, String id) throws IOException {
    RawClient c = connect(a, source);
    c.send(Frame.Hello.newSession(id, ""));
    c.readUntil(Frame.Welcome.class);
    return c;
  }

  @AfterEach
  void stop() throws IOException {
    for (RawClient c : clients) {
      c.close();
    }
    if (server != null) {
      server.close();
    }
  }

  static Frame.Error refused(RawClient c, ErrorCode code) throws IOException {
    Frame.Error e = c.readUntil(Frame.Error.class);
    assertThat(e.code()).as(e.message()).isEqualTo(code);
    assertThat(c.awaitClosed(Duration.ofSeconds(5))).isTrue();
    return e;
  }

  /**
   * For floods: the server may close while our surplus is still unread in its socket, and then the
   * kernel sends RST, which can overtake the ERROR frame. The counter says which bound refused us.
   */
  static void refusedOrReset(RawClient c, ErrorCode code, String message) throws IOException {
    try {
      Frame.Error e = c.readUntil(Frame.Error.class);
      assertThat(e.code()).as(e.message()).isEqualTo(code);
      assertThat(e.message()).contains(message);
    } catch (java.net.SocketException reset) {
      // RST after the ERROR: fine, the connection is gone
    }
    assertThat(c.awaitClosed(Duration.ofSeconds(5))).isTrue();
  }

  /** Sends until the server has cut us off. */
  static void flood(RawClient c, Iterable<Frame> frames) {
    try {
      for (Frame f : frames) {
        c.send(f);
      }
    } catch (IOException cutOff) {
      // the server closed the connection: the point of the flood
    }
  }

  /** The bystander still gets its messages. */
  void assertUnaffected(RawClient bystander, String id) throws IOException {
    server.publishToClient(id, "still here".getBytes(StandardCharsets.UTF_8));
    assertThat(new String(bystander.readUntil(Frame.Data.class).payload(), StandardCharsets.UTF_8)).isEqualTo("still here");
  }

  @Test
  void maxConnectionsPerNode() throws IOException {
    InetSocketAddress a = start(Limits.defaults().withMaxConnections(2));
    RawClient alice = login(a, "127.0.0.1", "alice");
    login(a, "127.0.0.1", "bob");
    assertThat(refused(connect(a, "127.0.0.1"), ErrorCode.LIMIT_EXCEEDED).message()).contains("limit of 2 connections");
    assertThat(server.stats().limitHits(Limit.CONNECTIONS)).isEqualTo(1);
    assertUnaffected(alice, "alice");
  }

  @Test
  void maxConnectionsPerAddressCountsOpenOnesAndForgetsClosedOnes() throws IOException {
    InetSocketAddress a = start(Limits.defaults().withMaxConnectionsPerAddress(2));
    RawClient other = login(a, "127.0.0.3", "other");
    RawClient first = login(a, "127.0.0.2", "a1");
    login(a, "127.0.0.2", "a2");
    assertThat(refused(connect(a, "127.0.0.2"), ErrorCode.LIMIT_EXCEEDED).message()).contains("limit of 2");
    assertThat(server.stats().limitHits(Limit.CONNECTIONS_PER_ADDRESS)).isEqualTo(1);
    first.close();
    await().until(() -> server.stats().connections() == 2);
    login(a, "127.0.0.2", "a3"); // a slot was freed
    assertUnaffected(other, "other");
    for (RawClient c : clients) {
      c.close();
    }
    await().until(() -> server.stats().connections() == 0);
    await().until(() -> server.stats().trackedAddresses() == 0); // nothing kept per address once all are gone
  }

  @Test
  void newConnectionsPerSecondPerAddress() throws IOException {
    InetSocketAddress a = start(Limits.defaults().withMaxNewConnectionsPerSecondPerAddress(3));
    RawClient other = login(a, "127.0.0.3", "other");
    for (int i = 0; i < 3; i++) {
      connect(a, "127.0.0.2").close(); // a connect-and-drop flood
    }
    assertThat(refused(connect(a, "127.0.0.2"), ErrorCode.RATE_LIMITED).message()).contains("3 new connections per second");
    assertThat(server.stats().limitHits(Limit.NEW_CONNECTIONS_PER_ADDRESS)).isEqualTo(1);
    assertUnaffected(other, "other");
    // The bucket refills: a second later the address may connect again.
    await().atMost(Duration.ofSeconds(3)).until(() -> {
      try (RawClient c = RawClient.connect(a, InetAddress.getByName("127.0.0.2"))) {
        c.send(Frame.Hello.newSession("later", ""));
        return c.read() instanceof Frame.Welcome;
      }
    });
  }

  @Test
  void inboundFramesPerSecond() throws IOException {
    InetSocketAddress a = start(Limits.defaults().withMaxInboundMessagesPerSecond(50));
    RawClient bystander = login(a, "127.0.0.1", "bystander");
    RawClient flooder = login(a, "127.0.0.1", "flooder");
    List<Frame> pings = new ArrayList<>();
    for (int i = 1; i <= 200; i++) {
      pings.add(new Frame.Ping(i));
    }
    flood(flooder, pings);
    refusedOrReset(flooder, ErrorCode.RATE_LIMITED, "more than 50 frames per second");
    assertThat(server.stats().limitHits(Limit.INBOUND_MESSAGES)).isEqualTo(1);
    assertUnaffected(bystander, "bystander");
  }

  @Test
  void inboundBytesPerSecond() throws IOException {
    InetSocketAddress a = start(Limits.defaults().withMaxInboundBytesPerSecond(100_000));
    RawClient bystander = login(a, "127.0.0.1", "bystander");
    RawClient flooder = login(a, "127.0.0.1", "flooder");
    byte[] big = new byte[20_000];
    List<Frame> data = new ArrayList<>();
    for (int i = 1; i <= 15; i++) {
      data.add(new Frame.Data(i, TargetKind.CLIENT, "nobody", "", big));
    }
    flood(flooder, data);
    refusedOrReset(flooder, ErrorCode.RATE_LIMITED, "more than 100000 bytes per second");
    assertThat(server.stats().limitHits(Limit.INBOUND_BYTES)).isEqualTo(1);
    assertUnaffected(bystander, "bystander");
  }

  @Test
  void subscriptionsPerSession() throws IOException {
    InetSocketAddress a = start(Limits.defaults().withMaxSubscriptions(2));
    RawClient bystander = login(a, "127.0.0.1", "bystander");
    RawClient greedy = login(a, "127.0.0.1", "greedy");
    greedy.send(new Frame.Subscribe(1, "t1"));
    greedy.send(new Frame.Subscribe(2, "t2"));
    greedy.send(new Frame.Subscribe(3, "t1")); // already subscribed: not a new one
    greedy.send(new Frame.Subscribe(4, "t3"));
    assertThat(refused(greedy, ErrorCode.LIMIT_EXCEEDED).message()).contains("more than 2 subscriptions");
    assertThat(server.stats().limitHits(Limit.SUBSCRIPTIONS)).isEqualTo(1);
    assertUnaffected(bystander, "bystander");
  }

  @Test
  void badLimitsAreNamed() {
    assertThatThrownBy(() -> Limits.defaults().withMaxSubscriptions(-1)).hasMessageContaining("maxSubscriptions: -1");
    assertThatThrownBy(() -> Limits.defaults().withMaxInboundMessagesPerSecond(40_000))
        .hasMessageContaining("maxInboundMessagesPerSecond: 40000 (expected: 0..32767");
  }
}
