package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.client.ClientListener;
import io.longlink.client.ClientTls;
import io.longlink.server.ServerTls;
import io.longlink.testing.TestPki;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import io.longlink.client.ClientState;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.ReceivedMessage;
import io.longlink.client.SessionLostEvent;
import io.longlink.chaos.ChaosProxy;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Flash disconnects cost the application nothing: cuts, outages, restarts, over real sockets. */
class ReliableSessionsTest {
  LonglinkServer server;
  ChaosProxy proxy;
  final RandomFaults faults = new RandomFaults(500, 1000);
  final List<LonglinkClient> clients = new ArrayList<>();
  /** TLS for the clients {@link #client} makes; {@code null}: plaintext. */
  ClientTls clientTls;

  static final class Inbox implements ClientListener {
    final List<String> payloads = Collections.synchronizedList(new ArrayList<>());
    final List<SessionLostEvent> lost = new CopyOnWriteArrayList<>();
    final List<ClientState> states = new CopyOnWriteArrayList<>();
    volatile long reconnectedAtNanos;

    @Override
    public void onMessage(ReceivedMessage m) {
      payloads.add(m.payloadText());
    }

    @Override
    public void onStateChanged(ClientState previous, ClientState current, Throwable cause) {
      states.add(current);
      if (current == ClientState.CONNECTED && previous == ClientState.HANDSHAKING && states.size() > 3) {
        reconnectedAtNanos = System.nanoTime();
      }
    }

    @Override
    public void onSessionLost(SessionLostEvent event) {
      lost.add(event);
    }
  }

  @AfterEach
  void stop() {
    clients.forEach(LonglinkClient::close);
    if (proxy != null) {
      proxy.close();
    }
    if (server != null) {
      server.close();
    }
  }

  static ChaosProxy proxyTo(InetSocketAddress upstream) {
    return ChaosProxy.builder("gw").listen(new InetSocketAddress("127.0.0.1", 0)).upstream(upstream).build().start();
  }

  LonglinkServer start(ServerConfig.Builder config) {
    server = LonglinkServer.builder().config(config.build()).build().start();
    return server;
  }

  LonglinkClient client(String id, InetSocketAddress endpoint, Inbox inbox, boolean fastBackoff) throws Exception {
    LonglinkClient.Builder b = LonglinkClient.builder().endpoint(endpoint).clientId(id).listener(inbox)
        .maxPending(20_000, 64 << 20);
    if (fastBackoff) {
      b.backoff(Duration.ofMillis(5), Duration.ofMillis(50));
    }
    if (clientTls != null) {
      b.tls(clientTls);
    }
    LonglinkClient c = b.build();
    clients.add(c);
    c.connect().get(10, TimeUnit.SECONDS);
    return c;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void tenThousandMessagesEachWayThroughFiftyCutsArriveExactlyOnceInOrder() throws Exception {
    tenThousandEachWayThroughFiftyCuts(null, null);
  }

  /** The same over TLS: a cut in the middle of a TLS record is a cut like any other. */
  @Test
  void tenThousandMessagesEachWayThroughFiftyCutsOverTlsArriveExactlyOnceInOrder(@TempDir Path dir) throws Exception {
    TestPki pki = TestPki.create("gw", dir);
    TestPki.Issued cert = pki.server("server");
    tenThousandEachWayThroughFiftyCuts(ServerTls.of(cert.certificateFile(), cert.keyFile()), ClientTls.trust(pki.caFile()));
  }

  private void tenThousandEachWayThroughFiftyCuts(ServerTls serverTls, ClientTls clientTls) throws Exception {
    // Buffers big enough for the whole stream: this test is about cuts; overflow has its own test.
    // A short heartbeat, so that blackholed connections are found dead quickly.
    ServerConfig.Builder config = ServerConfig.builder().port(0).replayBufferMessages(20_000)
        .heartbeatInterval(Duration.ofMillis(200)).heartbeatMisses(2);
    LonglinkServer.Builder node = LonglinkServer.builder().config(config.build());
    if (serverTls != null) {
      node.tls(serverTls);
    }
    server = node.build().start();
    proxy = proxyTo(server.localAddress());
    Inbox aliceInbox = new Inbox();
    Inbox bobInbox = new Inbox();
    this.clientTls = clientTls;
    LonglinkClient alice = client("alice", proxy.address(), aliceInbox, true);
    LonglinkClient bob = client("bob", proxy.address(), bobInbox, true);
    int n = 10_000;
    int minCuts = 50;
    AtomicBoolean done = new AtomicBoolean();
    ScheduledExecutorService cutter = Executors.newSingleThreadScheduledExecutor();
    java.util.concurrent.ExecutorService pumps = Executors.newFixedThreadPool(2); // blocking: not the common pool
    cutter.scheduleWithFixedDelay(() -> {
      if (!done.get()) {
        faults.injectOne(proxy);
      }
    }, 20, 40, TimeUnit.MILLISECONDS);
    try {
      CompletableFuture<Void> a = CompletableFuture.runAsync(() -> pump(alice, "bob", "a", n, minCuts), pumps);
      CompletableFuture<Void> b = CompletableFuture.runAsync(() -> pump(bob, "alice", "b", n, minCuts), pumps);
      try {
        CompletableFuture.allOf(a, b).get(120, TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new AssertionError("stuck: alice " + alice.state() + " got " + aliceInbox.payloads.size() + ", bob "
            + bob.state() + " got " + bobInbox.payloads.size() + ", proxy connections " + proxy.connectionCount(), e);
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> aliceInbox.payloads.size() >= n && bobInbox.payloads.size() >= n);
    } finally {
      done.set(true);
      cutter.shutdownNow();
      pumps.shutdownNow();
    }
    StreamAudit toBob = StreamAudit.of(List.copyOf(bobInbox.payloads), "a", n);
    StreamAudit toAlice = StreamAudit.of(List.copyOf(aliceInbox.payloads), "b", n);
    System.out.println(String.format("reliability: sent %d+%d, delivered %d+%d, lost %d+%d, duplicated %d+%d, reordered %d+%d, "
            + "faults %d (resets %d, mid-frame closes %d, blackholes %d), resumes %d, sessions lost %d", n, n,
        toBob.delivered(), toAlice.delivered(), toBob.lost(), toAlice.lost(), toBob.duplicated(), toAlice.duplicated(),
        toBob.reordered(), toAlice.reordered(), faults.cuts.get(), faults.resets(),
        faults.midFrameCuts.get(), faults.blackholes.get(), server.stats().resumed(), aliceInbox.lost.size() + bobInbox.lost.size()));
    assertThat(toBob).isEqualTo(new StreamAudit(n, 0, 0, 0));
    assertThat(toAlice).isEqualTo(new StreamAudit(n, 0, 0, 0));
    assertThat(faults.cuts.get()).isGreaterThanOrEqualTo(minCuts);
    assertThat(faults.blackholes.get()).isPositive();
    assertThat(server.stats().resumed()).isGreaterThanOrEqualTo(minCuts);
    assertThat(aliceInbox.lost).isEmpty();
    assertThat(bobInbox.lost).isEmpty();
  }

  /**
   * Sends n messages, at most 200 unacknowledged, and spreads them over the cuts: message i waits
   * until i / n of the cuts have happened, so every stretch of the stream crosses some.
   */
  private void pump(LonglinkClient from, String to, String prefix, int n, int minCuts) {
    List<CompletableFuture<Void>> acks = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      if (i % 100 == 0) {
        int needed = (int) ((long) i * minCuts / n);
        await().atMost(Duration.ofSeconds(30)).until(() -> faults.cuts.get() >= needed);
      }
      if (i >= 200) {
        acks.get(i - 200).join();
      }
      acks.add(from.send(Destination.client(to), utf8(prefix + i)));
    }
    CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).join();
  }

  @Test
  void awayLongerThanRetentionMeansSessionLostThenAFreshSessionWorks() throws Exception {
    start(ServerConfig.builder().port(0).sessionRetention(Duration.ofMillis(300)));
    proxy = proxyTo(server.localAddress());
    Inbox inbox = new Inbox();
    LonglinkClient bob = client("bob", proxy.address(), inbox, true);
    String first = bob.sessionId();
    bob.subscribe("news").get(5, TimeUnit.SECONDS);
    proxy.setEnabled(false); // the gateway looks down: connections reset, new ones refused
    await().until(() -> server.stats().detachedSessions() == 1);
    await().until(() -> server.stats().sessions() == 0); // expired
    proxy.setEnabled(true);
    await().until(() -> inbox.lost.size() == 1 && bob.state() == ClientState.CONNECTED);
    assertThat(inbox.lost.get(0).oldSessionId()).isEqualTo(first);
    assertThat(bob.sessionId()).isNotEqualTo(first);
    await().until(() -> server.stats().topics() == 1); // re-subscribed by itself
    server.publishToTopic("news", utf8("after the loss"));
    await().until(() -> inbox.payloads.contains("after the loss"));
  }

  @Test
  void bufferOverflowWhileAwayIsReportedNeverSilent() throws Exception {
    start(ServerConfig.builder().port(0).replayBufferMessages(5));
    proxy = proxyTo(server.localAddress());
    Inbox inbox = new Inbox();
    LonglinkClient bob = client("bob", proxy.address(), inbox, true);
    proxy.setEnabled(false); // the gateway looks down: connections reset, new ones refused
    await().until(() -> server.stats().detachedSessions() == 1);
    for (int i = 0; i < 8; i++) {
      server.publishToClient("bob", utf8("m" + i));
    }
    proxy.setEnabled(true);
    await().until(() -> inbox.lost.size() == 1 && bob.state() == ClientState.CONNECTED);
    assertThat(inbox.lost.get(0).messagesLostByServer()).isEqualTo(8);
    assertThat(inbox.payloads).isEmpty();
  }

  @Test
  void serverRestartBringsClientsBackSpreadOutWithSessionLost() throws Exception {
    ServerConfig.Builder config = ServerConfig.builder().port(0).backoffInitial(Duration.ofSeconds(1))
        .backoffMax(Duration.ofSeconds(2));
    start(config);
    int port = server.localAddress().getPort();
    int n = 40;
    List<Inbox> inboxes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Inbox inbox = new Inbox();
      inboxes.add(inbox);
      client("c" + i, server.localAddress(), inbox, false);
    }
    server.close();
    long restartedAt = System.nanoTime();
    start(config.port(port));
    await().atMost(Duration.ofSeconds(20)).until(() -> server.stats().sessions() == n);
    for (Inbox inbox : inboxes) {
      await().until(() -> inbox.lost.size() == 1);
    }
    List<Long> backAfterMs = new ArrayList<>();
    for (Inbox inbox : inboxes) {
      backAfterMs.add(TimeUnit.NANOSECONDS.toMillis(inbox.reconnectedAtNanos - restartedAt));
    }
    Collections.sort(backAfterMs);
    long p10 = backAfterMs.get(n / 10);
    long p90 = backAfterMs.get(n * 9 / 10);
    System.out.println(String.format("restart: %d clients back after %d..%d ms (p10 %d, p90 %d)", n, backAfterMs.get(0),
        backAfterMs.get(n - 1), p10, p90));
    // Full jitter over the first second: the middle 80 % of clients arrive over hundreds of ms, not in one burst.
    assertThat(p90 - p10).isGreaterThanOrEqualTo(300);
  }
}
