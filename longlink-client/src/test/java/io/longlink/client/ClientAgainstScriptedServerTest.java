package io.longlink.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.SessionStatus;
import io.longlink.protocol.TargetKind;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The client against a scripted peer on real loopback sockets: the test plays the server. */
class ClientAgainstScriptedServerTest {
  final ScriptedServer server;
  final List<ReceivedMessage> received = new CopyOnWriteArrayList<>();
  final List<String> transitions = new CopyOnWriteArrayList<>();
  final List<SessionLostEvent> lostEvents = new CopyOnWriteArrayList<>();
  final CompletableFuture<Throwable> gaveUp = new CompletableFuture<>();
  final CompletableFuture<Throwable> firstLoss = new CompletableFuture<>();
  final List<Object> delivered = new CopyOnWriteArrayList<>(); // messages and drop reports, in order
  LonglinkClient client;

  ClientAgainstScriptedServerTest() throws IOException {
    server = new ScriptedServer();
  }

  final ClientListener listener = new ClientListener() {
    @Override
    public void onMessage(ReceivedMessage m) {
      received.add(m);
      delivered.add(m.seq());
    }

    @Override
    public void onMessagesDropped(MessagesDroppedEvent event) {
      delivered.add(event);
    }

    @Override
    public void onStateChanged(ClientState previous, ClientState current, Throwable cause) {
      transitions.add(previous + "->" + current);
      if (current == ClientState.DISCONNECTED) {
        gaveUp.complete(cause);
      }
      if (previous == ClientState.CONNECTED) {
        firstLoss.complete(cause);
      }
    }

    @Override
    public void onSessionLost(SessionLostEvent event) {
      lostEvents.add(event);
    }
  };

  LonglinkClient.Builder builder() {
    return LonglinkClient.builder()
        .endpoint("127.0.0.1", server.port())
        .clientId("alice")
        .connectTimeout(Duration.ofSeconds(5))
        .backoff(Duration.ofMillis(10), Duration.ofMillis(20))
        .listener(listener);
  }

  @AfterEach
  void tearDown() throws IOException {
    if (client != null) {
      client.close();
    }
    server.close();
  }

  /** Connects {@code client} and completes a fresh login as session {@code id}. */
  ScriptedServer.Peer login(String id, int heartbeatMs) throws Exception {
    CompletableFuture<Void> connected = client.connect();
    ScriptedServer.Peer peer = server.accept();
    assertThat(unstamped(peer.read())).isEqualTo(Frame.Hello.newSession("alice", ""));
    peer.welcome(id, SessionStatus.NEW, 0, 0, heartbeatMs);
    connected.get(5, TimeUnit.SECONDS);
    return peer;
  }

  /** A HELLO with its attempt stamp zeroed, after checking the stamp was set. */
  static Frame.Hello unstamped(Frame f) {
    Frame.Hello h = (Frame.Hello) f;
    assertThat(h.attemptStamp()).isPositive();
    return new Frame.Hello(h.version(), h.clientId(), h.token(), h.resumeSessionId(), h.lastReceivedSeq(), 0);
  }

  @Test
  void everyAttemptCarriesAHigherStamp() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    peer.close();
    ScriptedServer.Peer second = server.accept();
    Frame.Hello h2 = (Frame.Hello) second.read();
    second.close(); // drop it before WELCOME: the client tries again
    Frame.Hello h3 = (Frame.Hello) server.accept().read();
    assertThat(h3.attemptStamp()).isGreaterThan(h2.attemptStamp());
    assertThat(h3.resumeSessionId()).isEqualTo("s1");
  }

  static Frame.Data data(long seq, String text) {
    return new Frame.Data(seq, TargetKind.CLIENT, "alice", "bob", text.getBytes());
  }

  @Test
  void pingsAtTheServersIntervalAndDeclaresASilentServerDead() throws Exception {
    client = builder().reconnect(false).build();
    ScriptedServer.Peer peer = login("s1", 100);
    Frame.Ping ping = (Frame.Ping) peer.read();
    peer.send(new Frame.Pong(ping.timestamp()));
    await().until(() -> client.lastRtt() != null);
    // From now on the server answers nothing: two more pings, then the client gives up.
    assertThat(peer.read()).isInstanceOf(Frame.Ping.class);
    assertThat(peer.read()).isInstanceOf(Frame.Ping.class);
    Throwable cause = gaveUp.get(5, TimeUnit.SECONDS);
    assertThat(cause).hasMessageContaining("heartbeat timeout").hasMessageContaining("300 ms");
    assertThat(transitions).containsExactly("DISCONNECTED->CONNECTING", "CONNECTING->HANDSHAKING",
        "HANDSHAKING->CONNECTED", "CONNECTED->DISCONNECTED");
  }

  @Test
  void deliversEachMessageOnceInOrderAndAcksCumulatively() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    peer.send(data(1, "a"), data(1, "a"), data(2, "b"));
    Frame.Ack ack = peer.readUntil(Frame.Ack.class);
    while (ack.seq() < 2) {
      ack = peer.readUntil(Frame.Ack.class);
    }
    assertThat(received).extracting(ReceivedMessage::seq).containsExactly(1L, 2L);
    assertThat(received.get(0).from()).isEqualTo("bob");
  }

  @Test
  void gapIsReportedInOrderSkippedAndAcknowledged() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    // 2 arrives, 3..5 were dropped by the server, 6 arrives; a GAP already covered is a duplicate.
    peer.send(data(1, "a"), new Frame.Gap(2, 3), new Frame.Gap(2, 5), data(6, "f"), new Frame.Gap(4, 6));
    Frame.Ack ack = peer.readUntil(Frame.Ack.class);
    while (ack.seq() < 6) {
      ack = peer.readUntil(Frame.Ack.class);
    }
    assertThat(delivered).containsExactly(1L, new MessagesDroppedEvent(2, 3), new MessagesDroppedEvent(4, 5), 6L);
    assertThat(client.messagesDroppedByServer()).isEqualTo(4);
    assertThat(client.state()).isEqualTo(ClientState.CONNECTED);

    peer.send(new Frame.Gap(8, 9)); // 7 never came: the server broke the sequence
    assertThat(firstLoss.get(5, TimeUnit.SECONDS)).hasMessageContaining("GAP from 8 (expected: <= 7)");
  }

  @Test
  void aRejectedMessageFailsItsSendWithTheServersCodeAndTheSessionGoesOn() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    CompletableFuture<Void> first = client.send(Destination.client("far"), new byte[] {1});
    CompletableFuture<Void> second = client.send(Destination.client("near"), new byte[] {2});
    peer.readUntil(Frame.Data.class);
    peer.readUntil(Frame.Data.class);
    peer.send(new Frame.Reject(1, ErrorCode.UNAVAILABLE, "cluster store unavailable"), new Frame.Ack(2));
    assertThatThrownBy(() -> first.get(5, TimeUnit.SECONDS)).cause().isInstanceOf(LonglinkException.class)
        .hasMessageContaining("UNAVAILABLE").hasMessageContaining("message 1 not delivered: cluster store unavailable");
    assertThat(second.get(5, TimeUnit.SECONDS)).isNull();
    assertThat(client.rejectedMessages()).isEqualTo(1);
    assertThat(client.state()).isEqualTo(ClientState.CONNECTED);
    peer.send(new Frame.Reject(7, ErrorCode.UNAVAILABLE, "never sent")); // unknown seq: ignored
    CompletableFuture<Void> third = client.send(Destination.client("near"), new byte[] {3});
    assertThat(peer.readUntil(Frame.Data.class).seq()).isEqualTo(3);
    peer.send(new Frame.Ack(3));
    assertThat(third.get(5, TimeUnit.SECONDS)).isNull();
    assertThat(client.rejectedMessages()).isEqualTo(1);
  }

  @Test
  void aRequestTimesOutAtItsDeadlineSendsCancelAndALateAnswerIsCounted() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    long before = System.currentTimeMillis();
    CompletableFuture<byte[]> f = client.request(new byte[] {1}, Duration.ofMillis(200));
    Frame.Request r = peer.readUntil(Frame.Request.class);
    assertThat(r.deadline()).isBetween(before + 200, System.currentTimeMillis() + 200);
    assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).cause().isInstanceOf(RequestTimeoutException.class);
    assertThat(peer.readUntil(Frame.Cancel.class).requestId()).isEqualTo(r.requestId());
    peer.send(Frame.Response.ok(r.requestId(), new byte[] {2})); // too late
    await().until(() -> client.lateResponses() == 1);

    CompletableFuture<byte[]> g = client.request(new byte[] {3}, Duration.ofSeconds(5));
    Frame.Request r2 = peer.readUntil(Frame.Request.class);
    assertThat(r2.requestId()).isNotEqualTo(r.requestId());
    peer.send(Frame.Response.ok(r2.requestId(), new byte[] {4}));
    assertThat(g.get(5, TimeUnit.SECONDS)).containsExactly(4);
  }

  @Test
  void acksAfterEveryNMessagesOrAfterTheDelay() throws Exception {
    client = builder().ackBatch(2, Duration.ofMillis(50)).build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    peer.send(data(1, "a"), data(2, "b"), data(3, "c"));
    assertThat(peer.readUntil(Frame.Ack.class).seq()).isEqualTo(2); // the batch of two
    long t0 = System.nanoTime();
    assertThat(peer.readUntil(Frame.Ack.class).seq()).isEqualTo(3); // the straggler, after the delay
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void sendCompletesOnlyWhenAcknowledged() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    CompletableFuture<Void> first = client.send(Destination.client("bob"), new byte[] {1});
    CompletableFuture<Void> second = client.subscribe("news");
    assertThat(peer.read()).isEqualTo(new Frame.Data(1, TargetKind.CLIENT, "bob", "", new byte[] {1}));
    assertThat(peer.read()).isEqualTo(new Frame.Subscribe(2, "news"));
    assertThat(first).isNotDone();
    peer.send(new Frame.Ack(1));
    first.get(5, TimeUnit.SECONDS);
    assertThat(second).isNotDone();
    peer.send(new Frame.Ack(2));
    second.get(5, TimeUnit.SECONDS);
  }

  @Test
  void resumeReplaysOnlyWhatTheServerLacksAndDropsDuplicates() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    List<CompletableFuture<Void>> sends = List.of(
        client.send(Destination.client("bob"), "m1".getBytes()),
        client.send(Destination.client("bob"), "m2".getBytes()),
        client.send(Destination.client("bob"), "m3".getBytes()));
    for (int i = 1; i <= 3; i++) {
      assertThat(peer.readUntil(Frame.Data.class).seq()).isEqualTo(i);
    }
    peer.send(new Frame.Ack(1), data(1, "x"), data(2, "y"));
    await().until(() -> received.size() == 2);
    sends.get(0).get(5, TimeUnit.SECONDS);
    peer.close(); // the cut: the server got m2 but its ACK never left
    firstLoss.get(5, TimeUnit.SECONDS);
    CompletableFuture<Void> queued = client.send(Destination.client("bob"), "m4".getBytes()); // sent while away

    ScriptedServer.Peer again = server.accept();
    assertThat(unstamped(again.read())).isEqualTo(new Frame.Hello(1, "alice", "", "s1", 2, 0));
    again.welcome("s1", SessionStatus.RESUMED, 2, 0, 30_000);
    sends.get(1).get(5, TimeUnit.SECONDS); // settled by WELCOME alone
    assertThat(again.readUntil(Frame.Data.class).seq()).isEqualTo(3); // replay starts after what the server has
    assertThat(again.readUntil(Frame.Data.class).seq()).isEqualTo(4);
    again.send(data(2, "y"), data(3, "z"), new Frame.Ack(4)); // 2 is a replayed duplicate
    sends.get(2).get(5, TimeUnit.SECONDS);
    queued.get(5, TimeUnit.SECONDS);
    await().until(() -> received.size() == 3);
    assertThat(received).extracting(ReceivedMessage::seq).containsExactly(1L, 2L, 3L);
    assertThat(lostEvents).isEmpty();
    assertThat(client.sessionId()).isEqualTo("s1");
  }

  @Test
  void lostSessionIsReportedAndTopicsResubscribed() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    CompletableFuture<Void> sub = client.subscribe("news");
    assertThat(peer.read()).isEqualTo(new Frame.Subscribe(1, "news"));
    peer.send(new Frame.Ack(1));
    sub.get(5, TimeUnit.SECONDS);
    CompletableFuture<Void> unconfirmed = client.send(Destination.client("bob"), "gone?".getBytes());
    assertThat(peer.read()).isInstanceOf(Frame.Data.class);
    peer.send(data(1, "x"));
    await().until(() -> received.size() == 1);
    peer.close();
    firstLoss.get(5, TimeUnit.SECONDS);
    CompletableFuture<Void> queued = client.send(Destination.client("bob"), "later".getBytes());

    ScriptedServer.Peer again = server.accept();
    assertThat(unstamped(again.read())).isEqualTo(new Frame.Hello(1, "alice", "", "s1", 1, 0));
    again.welcome("s2", SessionStatus.LOST, 0, 7, 30_000);
    assertThatThrownBy(() -> unconfirmed.get(5, TimeUnit.SECONDS)).cause().isInstanceOf(SessionLostException.class);
    assertThat(again.read()).isEqualTo(new Frame.Subscribe(1, "news")); // re-subscribed first
    assertThat(again.read()).isEqualTo(new Frame.Data(2, TargetKind.CLIENT, "bob", "", "later".getBytes()));
    again.send(new Frame.Ack(2), data(1, "fresh"));
    queued.get(5, TimeUnit.SECONDS);
    await().until(() -> received.size() == 2); // seq restarts at 1 in the new session
    assertThat(lostEvents).containsExactly(new SessionLostEvent("s1", "s2", 7, 1));
    assertThat(client.sessionId()).isEqualTo("s2");
  }

  @Test
  void aForbiddenSubscriptionIsNotRenewedInTheNextSession() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    CompletableFuture<Void> news = client.subscribe("news");
    CompletableFuture<Void> secret = client.subscribe("secret");
    assertThat(peer.read()).isEqualTo(new Frame.Subscribe(1, "news"));
    assertThat(peer.read()).isEqualTo(new Frame.Subscribe(2, "secret"));
    peer.send(new Frame.Reject(2, ErrorCode.FORBIDDEN, "not allowed"), new Frame.Ack(2));
    news.get(5, TimeUnit.SECONDS);
    assertThatThrownBy(() -> secret.get(5, TimeUnit.SECONDS)).cause().isInstanceOfSatisfying(LonglinkException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
    peer.close();
    firstLoss.get(5, TimeUnit.SECONDS);

    ScriptedServer.Peer again = server.accept();
    again.read();
    again.welcome("s2", SessionStatus.LOST, 0, 0, 30_000);
    CompletableFuture<Void> marker = client.send(Destination.client("bob"), "after".getBytes());
    assertThat(again.read()).isEqualTo(new Frame.Subscribe(1, "news")); // only the allowed one comes back
    assertThat(again.read()).isEqualTo(new Frame.Data(2, TargetKind.CLIENT, "bob", "", "after".getBytes()));
    again.send(new Frame.Ack(2));
    marker.get(5, TimeUnit.SECONDS);
  }

  @Test
  void backoffStartsOverOnlyAfterAStableConnection() throws Exception {
    io.longlink.protocol.testing.FakeTicker clock = new io.longlink.protocol.testing.FakeTicker();
    client = builder().ticker(clock).stableAfter(Duration.ofSeconds(10)).build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    peer.close(); // lost right away: not stable
    ScriptedServer.Peer second = server.accept();
    second.read();
    assertThat(client.attempt()).isEqualTo(1);
    second.welcome("s1", SessionStatus.RESUMED, 0, 0, 30_000);
    await().until(() -> client.state() == ClientState.CONNECTED);
    second.close(); // lost again right away: the backoff keeps growing
    ScriptedServer.Peer third = server.accept();
    third.read();
    assertThat(client.attempt()).isEqualTo(2);
    third.welcome("s1", SessionStatus.RESUMED, 0, 0, 30_000);
    await().until(() -> client.state() == ClientState.CONNECTED);
    clock.advance(Duration.ofSeconds(10)); // up for the stable period
    third.close();
    server.accept().read();
    assertThat(client.attempt()).isEqualTo(1); // started over
  }

  @Test
  void goAwayDelayAndAlternativeEndpointAreHonoured() throws Exception {
    try (ScriptedServer other = new ScriptedServer()) {
      client = builder().build();
      ScriptedServer.Peer peer = login("s1", 30_000);
      long t0 = System.nanoTime();
      peer.send(new Frame.GoAway(ErrorCode.SERVER_SHUTDOWN, "draining", 300, "127.0.0.1:" + other.port()));
      ScriptedServer.Peer moved = other.accept();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
      assertThat(unstamped(moved.read())).isEqualTo(new Frame.Hello(1, "alice", "", "s1", 0, 0));
      moved.welcome("s1", SessionStatus.RESUMED, 0, 0, 30_000);
      await().until(() -> client.state() == ClientState.CONNECTED);
    }
  }

  @Test
  void refusalWithRetryAfterIsHonouredDuringTheHandshake() throws Exception {
    client = builder().retryInitialConnect(true).build();
    CompletableFuture<Void> connected = client.connect();
    ScriptedServer.Peer first = server.accept();
    first.read();
    long t0 = System.nanoTime();
    first.send(new Frame.GoAway(ErrorCode.RATE_LIMITED, "busy, come back later", 300, ""));
    ScriptedServer.Peer second = server.accept();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
    assertThat(second.read()).isInstanceOf(Frame.Hello.class);
    second.welcome("s1", SessionStatus.NEW, 0, 0, 30_000);
    connected.get(5, TimeUnit.SECONDS);
  }

  @Test
  void replacedClientDoesNotComeBack() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    peer.send(new Frame.GoAway(ErrorCode.REPLACED, "logged in elsewhere", 0, ""));
    Throwable cause = gaveUp.get(5, TimeUnit.SECONDS);
    assertThat(cause).isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REPLACED));
    assertThat(transitions).endsWith("CONNECTED->DISCONNECTED");
  }

  @Test
  void failsOverToTheNextEndpointWithoutWaiting() throws Exception {
    int dead;
    try (ScriptedServer closed = new ScriptedServer()) {
      dead = closed.port();
    }
    client = LonglinkClient.builder().endpoint("127.0.0.1", dead).endpoint("127.0.0.1", server.port())
        .clientId("alice").listener(listener).build();
    CompletableFuture<Void> connected = client.connect();
    ScriptedServer.Peer peer = server.accept();
    assertThat(peer.read()).isInstanceOf(Frame.Hello.class);
    peer.welcome("s1", SessionStatus.NEW, 0, 0, 30_000);
    connected.get(5, TimeUnit.SECONDS);
    // The attempt's connect race moved on to the second endpoint as soon as the first refused: one attempt.
    assertThat(transitions).containsExactly("DISCONNECTED->CONNECTING", "CONNECTING->HANDSHAKING",
        "HANDSHAKING->CONNECTED");
  }

  @Test
  void anAdaptiveClientLogsInWithVersionOneWhereTheGatewaySpeaksNoVersionTwo() throws Exception {
    client = builder().adaptiveHeartbeat(AdaptiveHeartbeat.builder().build()).build();
    CompletableFuture<Void> connected = client.connect();
    ScriptedServer.Peer old = server.accept();
    assertThat(((Frame.Hello) old.read()).version()).isEqualTo(2);
    old.send(new Frame.Error(ErrorCode.UNSUPPORTED_VERSION, "version 2 (expected: 1)"));
    old.close();
    ScriptedServer.Peer again = server.accept();
    assertThat(((Frame.Hello) again.read()).version()).isEqualTo(1);
    again.welcome("s1", SessionStatus.NEW, 0, 0, 30_000);
    connected.get(5, TimeUnit.SECONDS);
    assertThat(client.heartbeatInterval()).isEqualTo(Duration.ofSeconds(30)); // the gateway's, fixed
  }

  @Test
  void refusalFailsConnectWithTheServersCode() throws Exception {
    client = builder().build();
    CompletableFuture<Void> connected = client.connect();
    ScriptedServer.Peer peer = server.accept();
    peer.read();
    peer.send(new Frame.Error(ErrorCode.AUTH_FAILED, "bad token"));
    assertThatThrownBy(() -> connected.get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.AUTH_FAILED))
        .hasMessageContaining("bad token");
    assertThat(client.state()).isEqualTo(ClientState.DISCONNECTED);
  }

  @Test
  void sendBeforeConnectFailsClearly() {
    client = builder().build();
    assertThatThrownBy(() -> client.send(Destination.client("bob"), new byte[0]).get(5, TimeUnit.SECONDS))
        .cause().hasMessageContaining("is DISCONNECTED (expected: connected or reconnecting)");
  }

  @Test
  void fullOutboxFailsFastOrBlocksUntilAcked() throws Exception {
    client = builder().maxPending(2, 1 << 20).build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    client.send(Destination.client("bob"), new byte[1]);
    client.send(Destination.client("bob"), new byte[1]);
    assertThatThrownBy(() -> client.send(Destination.client("bob"), new byte[1]).get(5, TimeUnit.SECONDS))
        .cause().isInstanceOf(LonglinkClient.OutboxFullException.class);
    peer.readUntil(Frame.Data.class);
    peer.send(new Frame.Ack(2));
    await().untilAsserted(() -> assertThat(client.send(Destination.client("bob"), new byte[1])).isNotCompletedExceptionally());
  }

  @Test
  void blockingPolicyWaitsForRoom() throws Exception {
    client = builder().maxPending(1, 1 << 20).overflowPolicy(LonglinkClient.OverflowPolicy.BLOCK, Duration.ofSeconds(5))
        .build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    CompletableFuture<Void> first = client.send(Destination.client("bob"), new byte[1]);
    CompletableFuture<CompletableFuture<Void>> second =
        CompletableFuture.supplyAsync(() -> client.send(Destination.client("bob"), new byte[1]));
    assertThat(peer.readUntil(Frame.Data.class).seq()).isEqualTo(1);
    assertThat(second).isNotDone(); // blocked: the outbox holds one
    peer.send(new Frame.Ack(1));
    first.get(5, TimeUnit.SECONDS);
    assertThat(peer.readUntil(Frame.Data.class).seq()).isEqualTo(2);
    peer.send(new Frame.Ack(2));
    second.get(5, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
  }

  @Test
  void closeSendsCloseAndEndsInClosed() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    client.close();
    assertThat(peer.read()).isEqualTo(new Frame.Close(ErrorCode.NORMAL, "client closed"));
    assertThat(client.state()).isEqualTo(ClientState.CLOSED);
    assertThat(client.closeFuture()).isDone();
    assertThat(peer.in.read()).isEqualTo(-1);
  }

  @Test
  void serverThatBreaksSequenceOrderIsCutOffAndTheClientComesBack() throws Exception {
    client = builder().build();
    ScriptedServer.Peer peer = login("s1", 30_000);
    peer.send(data(3, "gap"));
    Frame.Error e = peer.readUntil(Frame.Error.class);
    assertThat(e.code()).isEqualTo(ErrorCode.SEQUENCE_GAP);
    assertThat(firstLoss.get(5, TimeUnit.SECONDS)).isInstanceOf(LonglinkException.class);
    assertThat(received).isEmpty();
    ScriptedServer.Peer again = server.accept();
    assertThat(unstamped(again.read())).isEqualTo(new Frame.Hello(1, "alice", "", "s1", 0, 0));
  }
}
