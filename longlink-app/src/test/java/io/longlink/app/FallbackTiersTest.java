package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.app.relay.Relay;
import io.longlink.chaos.ChaosProxy;
import io.longlink.client.ClientListener;
import io.longlink.client.Destination;
import io.longlink.client.Fallback;
import io.longlink.client.LonglinkClient;
import io.longlink.client.ReceivedMessage;
import io.longlink.client.Route;
import io.longlink.client.RouteChange;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The SDK's fallback tiers over loopback against the real gateway: the direct port goes down, the
 * client moves to the gateway's alternative port; that goes down too, to its WebSocket listener;
 * that too, to a relay; the
 * direct port comes back, its probe finds it and the session moves back. "Down" here is a port that
 * refuses (a chaos proxy switched off); silently dropped packets are KernelFaultIT's. Messages flow
 * both ways the whole time and arrive exactly once, in order.
 */
class FallbackTiersTest {
  LonglinkServer server;
  final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    if (server != null) {
      server.close();
    }
  }

  static final class Listener implements ClientListener {
    final List<String> received = new CopyOnWriteArrayList<>();
    final List<RouteChange> routes = new CopyOnWriteArrayList<>();
    final List<io.longlink.client.SessionLostEvent> lost = new CopyOnWriteArrayList<>();

    @Override
    public void onSessionLost(io.longlink.client.SessionLostEvent event) {
      lost.add(event);
    }

    @Override
    public void onMessage(ReceivedMessage m) {
      received.add(m.payloadText());
    }

    @Override
    public void onRouteChanged(RouteChange change) {
      routes.add(change);
    }
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  <T extends AutoCloseable> T keep(T c) {
    closeables.add(c);
    return c;
  }

  @Test
  void movesDownToTheAlternativePortThenTheRelayAndBackToTheDirectPathWithoutLosingAMessage() throws Exception {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).altPorts(List.of(0))
        .webSocket(new io.longlink.server.WebSocketOptions(0, "/longlink", List.of())).build()).build().start();
    InetSocketAddress main = server.localAddress();
    InetSocketAddress alt = server.altAddresses().get(0);
    // The client's direct and alternative ports are proxies in front of the gateway's, so the test can take them down.
    int directPort = freePort();
    int altPort = freePort();
    ChaosProxy direct = keep(ChaosProxy.builder("direct").listen(new InetSocketAddress("127.0.0.1", directPort))
        .upstream(main).build().start());
    ChaosProxy altProxy = keep(ChaosProxy.builder("alt").listen(new InetSocketAddress("127.0.0.1", altPort))
        .upstream(alt).build().start());
    int wsPort = freePort();
    ChaosProxy wsProxy = keep(ChaosProxy.builder("ws").listen(new InetSocketAddress("127.0.0.1", wsPort))
        .upstream(server.webSocketAddress()).build().start());
    Relay relay = keep(new Relay(new InetSocketAddress("127.0.0.1", 0), List.of(main), Duration.ofSeconds(1),
        Duration.ofMillis(500)).start());

    Listener mobile = new Listener();
    LonglinkClient client = keep(LonglinkClient.builder().endpoint("127.0.0.1", directPort).clientId("mobile")
        .listener(mobile).connectTimeout(Duration.ofSeconds(2)).backoff(Duration.ofMillis(50), Duration.ofMillis(200))
        .fallback(Fallback.builder().altPorts(altPort).webSocket("ws://127.0.0.1:" + wsPort + "/longlink")
            .relay(relay.address()).failuresBeforeFallback(2)
            .probeDirectEvery(Duration.ofMillis(500)).build())
        .build());
    client.connect().get(5, TimeUnit.SECONDS);
    assertThat(client.route()).isEqualTo(Route.DIRECT);
    Listener home = new Listener();
    LonglinkClient peer = keep(LonglinkClient.builder().endpoint(main).clientId("home").listener(home).build());
    peer.connect().get(5, TimeUnit.SECONDS);

    int perPhase = 200;
    int phase = 0;
    send(client, peer, phase++, perPhase);

    direct.setEnabled(false);
    await().atMost(Duration.ofSeconds(20)).until(() -> client.route() == Route.ALTERNATIVE_PORT && connected(client));
    send(client, peer, phase++, perPhase);

    altProxy.setEnabled(false);
    await().atMost(Duration.ofSeconds(20)).until(() -> client.route() == Route.WEBSOCKET && connected(client));
    send(client, peer, phase++, perPhase);

    wsProxy.setEnabled(false);
    await().atMost(Duration.ofSeconds(20)).until(() -> client.route() == Route.RELAY && connected(client));
    send(client, peer, phase++, perPhase);

    direct.setEnabled(true);
    await().atMost(Duration.ofSeconds(20)).until(() -> client.route() == Route.DIRECT && connected(client));
    send(client, peer, phase++, perPhase);

    int total = perPhase * phase;
    await().atMost(Duration.ofSeconds(20)).until(() -> mobile.received.size() >= total && home.received.size() >= total);
    assertThat(StreamAudit.of(mobile.received, "h", total)).isEqualTo(new StreamAudit(total, 0, 0, 0));
    assertThat(StreamAudit.of(home.received, "m", total)).isEqualTo(new StreamAudit(total, 0, 0, 0));
    assertThat(mobile.routes).extracting(RouteChange::from, RouteChange::to, RouteChange::cause).containsExactly(
        org.assertj.core.groups.Tuple.tuple(Route.DIRECT, Route.ALTERNATIVE_PORT, RouteChange.Cause.FAILED),
        org.assertj.core.groups.Tuple.tuple(Route.ALTERNATIVE_PORT, Route.WEBSOCKET, RouteChange.Cause.FAILED),
        org.assertj.core.groups.Tuple.tuple(Route.WEBSOCKET, Route.RELAY, RouteChange.Cause.FAILED),
        org.assertj.core.groups.Tuple.tuple(Route.RELAY, Route.DIRECT, RouteChange.Cause.DIRECT_WORKS));
    assertThat(mobile.lost).as("the session resumed on every tier").isEmpty();
    assertThat(relay.relayed()).isGreaterThanOrEqualTo(1);
  }

  static boolean connected(LonglinkClient c) {
    return c.state() == io.longlink.client.ClientState.CONNECTED;
  }

  /** Phase {@code p}: each side sends n messages to the other ("m"/"h" + running number) and waits for the acks. */
  static void send(LonglinkClient mobile, LonglinkClient home, int p, int n) throws Exception {
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    for (int i = p * n; i < (p + 1) * n; i++) {
      acks.add(mobile.send(Destination.client("home"), ("m" + i).getBytes(StandardCharsets.UTF_8)));
      acks.add(home.send(Destination.client("mobile"), ("h" + i).getBytes(StandardCharsets.UTF_8)));
    }
    CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
  }
}
