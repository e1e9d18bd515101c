package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.client.ClientListener;
import io.longlink.client.ClientState;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.LonglinkException;
import io.longlink.client.ReceivedMessage;
import io.longlink.protocol.ErrorCode;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Java SDK against the real gateway over loopback. */
class SdkEndToEndTest {
  LonglinkServer server;
  final List<LonglinkClient> clients = new ArrayList<>();

  static class Recorder implements ClientListener {
    final List<ReceivedMessage> messages = new CopyOnWriteArrayList<>();
    final List<ClientState> states = new CopyOnWriteArrayList<>();
    final CompletableFuture<Throwable> disconnected = new CompletableFuture<>();

    @Override
    public void onMessage(ReceivedMessage m) {
      messages.add(m);
    }

    @Override
    public void onStateChanged(ClientState previous, ClientState current, Throwable cause) {
      states.add(current);
      if (current == ClientState.DISCONNECTED) {
        disconnected.complete(cause);
      }
    }

    List<String> texts() {
      return messages.stream().map(ReceivedMessage::payloadText).toList();
    }
  }

  LonglinkServer start(ServerConfig.Builder config) {
    server = LonglinkServer.builder().config(config.port(0).build()).build().start();
    return server;
  }

  LonglinkClient connect(String id, Recorder recorder) throws Exception {
    LonglinkClient c = LonglinkClient.builder()
        .endpoint(server.localAddress())
        .clientId(id)
        .listener(recorder)
        .build();
    clients.add(c);
    c.connect().get(5, TimeUnit.SECONDS);
    return c;
  }

  @AfterEach
  void stop() {
    clients.forEach(LonglinkClient::close);
    if (server != null) {
      server.close();
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void twoClientsChatAndEveryMessageArrivesOnceInOrder() throws Exception {
    start(ServerConfig.builder());
    Recorder aliceInbox = new Recorder();
    Recorder bobInbox = new Recorder();
    LonglinkClient alice = connect("alice", aliceInbox);
    LonglinkClient bob = connect("bob", bobInbox);
    int n = 5000;
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      acks.add(alice.send(Destination.client("bob"), utf8("a" + i)));
      acks.add(bob.send(Destination.client("alice"), utf8("b" + i)));
    }
    CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
    await().until(() -> bobInbox.messages.size() == n && aliceInbox.messages.size() == n);
    for (int i = 0; i < n; i++) {
      assertThat(bobInbox.messages.get(i).payloadText()).isEqualTo("a" + i);
      assertThat(bobInbox.messages.get(i).seq()).isEqualTo(i + 1);
      assertThat(aliceInbox.messages.get(i).payloadText()).isEqualTo("b" + i);
    }
    assertThat(bobInbox.messages.get(0).from()).isEqualTo("alice");
  }

  @Test
  void topicFanOutReachesSubscribersOnly() throws Exception {
    start(ServerConfig.builder());
    Recorder bobInbox = new Recorder();
    Recorder carolInbox = new Recorder();
    Recorder daveInbox = new Recorder();
    LonglinkClient alice = connect("alice", new Recorder());
    connect("bob", bobInbox).subscribe("news").get(5, TimeUnit.SECONDS);
    connect("carol", carolInbox).subscribe("news").get(5, TimeUnit.SECONDS);
    LonglinkClient dave = connect("dave", daveInbox);
    alice.send(Destination.topic("news"), utf8("headline")).get(5, TimeUnit.SECONDS);
    await().until(() -> bobInbox.messages.size() == 1 && carolInbox.messages.size() == 1);
    assertThat(bobInbox.messages.get(0).target()).isEqualTo("news");
    // dave never subscribed: a message straight to him proves he was reachable and got nothing else
    alice.send(Destination.client("dave"), utf8("direct")).get(5, TimeUnit.SECONDS);
    await().until(() -> daveInbox.messages.size() == 1);
    assertThat(daveInbox.texts()).containsExactly("direct");
    assertThat(server.publishToTopic("news", utf8("from the backend"))).isEqualTo(2);
    await().until(() -> bobInbox.messages.size() == 2);
    assertThat(bobInbox.messages.get(1).from()).isEmpty();
    assertThat(dave.state()).isEqualTo(ClientState.CONNECTED);
  }

  @Test
  void replacedClientIsToldWhy() throws Exception {
    start(ServerConfig.builder());
    Recorder first = new Recorder();
    connect("bob", first);
    connect("bob", new Recorder());
    Throwable cause = first.disconnected.get(5, TimeUnit.SECONDS);
    assertThat(cause).isInstanceOfSatisfying(LonglinkException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.REPLACED));
    await().until(() -> server.stats().sessions() == 1 && server.stats().connections() == 1);
  }

  @Test
  void heartbeatsAtTheServersIntervalKeepAnIdleClientConnected() throws Exception {
    start(ServerConfig.builder().heartbeatInterval(Duration.ofMillis(200)).heartbeatMisses(2));
    Recorder r = new Recorder();
    LonglinkClient idle = connect("idle", r);
    // 1.5 s is almost four dead-peer windows of 400 ms: only heartbeats keep it open.
    await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5))
        .until(() -> idle.state() == ClientState.CONNECTED && server.stats().sessions() == 1);
    assertThat(idle.lastRtt()).isNotNull();
    assertThat(r.disconnected).isNotDone();
  }

  @Test
  void clientCloseEndsTheSessionOnTheServer() throws Exception {
    start(ServerConfig.builder());
    LonglinkClient c = connect("alice", new Recorder());
    c.subscribe("news").get(5, TimeUnit.SECONDS);
    assertThat(server.stats().topics()).isEqualTo(1);
    c.close();
    assertThat(c.state()).isEqualTo(ClientState.CLOSED);
    await().until(() -> server.stats().sessions() == 0 && server.stats().connections() == 0 && server.stats().topics() == 0);
  }

  @Test
  void serverShutdownSendsClientsReconnecting() throws Exception {
    start(ServerConfig.builder());
    Recorder r = new Recorder();
    LonglinkClient c = connect("alice", r);
    server.close();
    await().until(() -> r.states.contains(ClientState.RECONNECTING));
    assertThat(c.nextRetryIn()).isNotNull();
    assertThat(r.disconnected).isNotDone(); // it keeps trying; it does not give up
  }

  /**
   * Drop-oldest end to end: a client whose application stalls (its listener blocks the I/O thread,
   * so it stops reading) stays connected in the same session, and afterwards gets the newest
   * messages plus drop reports that together account for every message, in order.
   */
  @Test
  void aStalledClientUnderDropOldestGetsTheNewestMessagesAndADropReportForTheRest() throws Exception {
    start(ServerConfig.builder().replayBufferBytes((1 << 20) + 64)
        .slowConsumerPolicy(ServerConfig.SlowConsumerPolicy.DROP_OLDEST));
    java.util.concurrent.CountDownLatch stalled = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch resume = new java.util.concurrent.CountDownLatch(1);
    List<Object> seen = new CopyOnWriteArrayList<>(); // seq of each message, or the drop report
    Recorder recorder = new Recorder() {
      @Override
      public void onMessage(ReceivedMessage m) {
        seen.add(m.seq());
        if (m.seq() == 1) {
          stalled.countDown();
          try {
            resume.await(30, TimeUnit.SECONDS); // the application hangs; nothing is read meanwhile
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }

      @Override
      public void onMessagesDropped(io.longlink.client.MessagesDroppedEvent event) {
        seen.add(event);
      }
    };
    LonglinkClient c = connect("stalled", recorder);
    String session = c.sessionId();
    int total = 400;
    server.publishToClient("stalled", new byte[64 * 1024]);
    assertThat(stalled.await(5, TimeUnit.SECONDS)).isTrue();
    for (int i = 2; i <= total; i++) {
      server.publishToClient("stalled", new byte[64 * 1024]); // 25 MiB in all, the buffer keeps 1 MiB
    }
    await().until(() -> server.stats().droppedMessages() > 0);
    resume.countDown();

    await().atMost(Duration.ofSeconds(20)).until(() -> !seen.isEmpty() && covered(seen) == total);
    long next = 1;
    long dropped = 0;
    for (Object o : seen) {
      if (o instanceof Long seq) {
        assertThat(seq).isEqualTo(next);
        next++;
      } else {
        io.longlink.client.MessagesDroppedEvent e = (io.longlink.client.MessagesDroppedEvent) o;
        assertThat(e.firstSeq()).isEqualTo(next);
        dropped += e.count();
        next = e.lastSeq() + 1;
      }
    }
    assertThat(seen.get(seen.size() - 1)).as("the newest message arrives").isEqualTo((long) total);
    assertThat(dropped).isPositive().isEqualTo(c.messagesDroppedByServer());
    assertThat(c.sessionId()).isEqualTo(session);
    assertThat(recorder.states).doesNotContain(ClientState.RECONNECTING);
  }

  /** The highest seq accounted for by messages and drop reports. */
  private static long covered(List<Object> seen) {
    Object last = seen.get(seen.size() - 1);
    return last instanceof Long seq ? seq : ((io.longlink.client.MessagesDroppedEvent) last).lastSeq();
  }

  @Test
  void clientAndPoolMetricsReachTheApplicationsRegistry() throws Exception {
    start(ServerConfig.builder());
    io.micrometer.core.instrument.simple.SimpleMeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    LonglinkClient c = connect("metered", new Recorder());
    new io.longlink.client.metrics.LonglinkClientMetrics(c).bindTo(registry);
    assertThat(registry.get("longlink.client.state").tag("state", "CONNECTED").gauge().value()).isEqualTo(1);
    assertThat(registry.get("longlink.client.reconnects").functionCounter().count()).isZero();
    server.shed(1, Duration.ZERO); // GOAWAY: the client moves on and comes back
    await().atMost(Duration.ofSeconds(10)).until(() -> c.reconnects() == 1 && c.state() == ClientState.CONNECTED);
    assertThat(registry.get("longlink.client.reconnects").functionCounter().count()).isEqualTo(1);

    try (io.longlink.client.pool.LonglinkPool pool = io.longlink.client.pool.LonglinkPool
        .builder(() -> LonglinkClient.builder().endpoint(server.localAddress())).build()) {
      new io.longlink.client.metrics.LonglinkPoolMetrics(pool, "p").bindTo(registry);
      try (var lease = pool.acquire()) {
        assertThat(registry.get("longlink.pool.connections").tag("state", "borrowed").gauge().value()).isEqualTo(1);
      }
      assertThat(registry.get("longlink.pool.connections").tag("state", "idle").gauge().value()).isEqualTo(1);
      assertThat(registry.get("longlink.pool.acquires").functionCounter().count()).isEqualTo(1);
    }
  }
}
