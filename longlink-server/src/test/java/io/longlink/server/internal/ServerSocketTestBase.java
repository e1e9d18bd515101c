package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.testing.RawClient;
import io.longlink.server.internal.netty.IdleOutboundBuffer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import io.longlink.server.ServerConfig;
import io.longlink.server.Authenticator;
import io.longlink.server.LonglinkServer;

/** The gateway over real loopback sockets, spoken to byte by byte. Subclasses pick the transport. */
abstract class ServerSocketTestBase {
  GatewayNode server;
  final List<RawClient> clients = new ArrayList<>();

  abstract ServerConfig.Transport transport();

  InetSocketAddress start(ServerConfig.Builder config, Authenticator auth) {
    server = TestNodes.node(config.host("127.0.0.1").port(0).ioThreads(2).transport(transport()).build(), auth).start();
    assertThat(server.transportName()).isEqualTo(transport().name().toLowerCase());
    return server.localAddress();
  }

  InetSocketAddress start() {
    return start(ServerConfig.builder(), Authenticator.acceptAll());
  }

  RawClient login(InetSocketAddress a, String id) throws IOException {
    RawClient c = RawClient.login(a, id);
    clients.add(c);
    return c;
  }

  RawClient connect(InetSocketAddress a) throws IOException {
    RawClient c = RawClient.connect(a);
    clients.add(c);
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

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static Frame.Data toClient(long seq, String target, String text) {
    return new Frame.Data(seq, TargetKind.CLIENT, target, "", utf8(text));
  }

  @Test
  void withReusePortTwoGatewaysShareOnePortAndTheKernelSpreadsClientsOverBoth() throws Exception {
    io.longlink.server.TcpOptions reuse = io.longlink.server.TcpOptions.builder().reusePort(true).build();
    InetSocketAddress a = start(ServerConfig.builder().tcp(reuse), Authenticator.acceptAll());
    GatewayNode second = TestNodes.node(ServerConfig.builder().host("127.0.0.1").port(a.getPort()).ioThreads(1)
        .transport(transport()).tcp(reuse).build(), Authenticator.acceptAll()).start();
    try {
      assertThat(second.localAddress()).isEqualTo(a);
      int n = 40;
      for (int i = 0; i < n; i++) {
        login(a, "c" + i); // each handshake is answered by whichever gateway the kernel chose
      }
      // 40 source ports hashed over two listeners: all on one would be a 1 in 2^39 chance.
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
        assertThat(server.stats().connections()).isPositive();
        assertThat(second.stats().connections()).isPositive();
        assertThat(server.stats().connections() + second.stats().connections()).isEqualTo(n);
      });
    } finally {
      second.close();
    }
  }

  @Test
  void withoutReusePortASecondGatewayOnTheSamePortFailsToStart() {
    InetSocketAddress a = start();
    GatewayNode second = TestNodes.node(ServerConfig.builder().host("127.0.0.1").port(a.getPort()).ioThreads(1)
        .transport(transport()).build(), Authenticator.acceptAll());
    try {
      org.assertj.core.api.Assertions.assertThatThrownBy(second::start)
          .hasMessageContaining("cannot listen on 127.0.0.1:" + a.getPort())
          .hasMessageContaining("--reuse-port");
    } finally {
      second.close();
    }
  }

  @Test
  void anIdleConnectionGivesUpItsOutboundBufferAndIsWrittenToWithANewOne() throws Exception {
    InetSocketAddress a = start(ServerConfig.builder().sweepInterval(Duration.ofMillis(100)), Authenticator.acceptAll());
    RawClient quiet = login(a, "quiet");
    ServerConnection connection = server.connections().get(0);
    await().atMost(Duration.ofSeconds(10)).until(() -> !holdsOutboundBuffer(connection));

    quiet.send(new Frame.Ping(42));
    assertThat(quiet.readUntil(Frame.Pong.class).timestamp()).as("answered with a new buffer").isEqualTo(42);
    await().atMost(Duration.ofSeconds(10)).until(() -> !holdsOutboundBuffer(connection));
    RawClient talker = login(a, "talker");
    talker.send(toClient(1, "quiet", "wake up"));
    assertThat(quiet.readUntil(Frame.Data.class).payload()).isEqualTo(utf8("wake up"));
  }

  private static boolean holdsOutboundBuffer(ServerConnection c) {
    return c.channel().eventLoop().submit(() -> IdleOutboundBuffer.holds(c.channel())).syncUninterruptibly().getNow();
  }

  @Test
  void aSessionShowsWhereItsConnectionComesFrom() throws Exception {
    RawClient c = login(start(), "shown");
    assertThat(server.sessions("shown", 1)).singleElement()
        .satisfies(s -> assertThat(s.link().remoteAddress()).isEqualTo(String.valueOf(c.socket().getLocalSocketAddress())));
  }

  /** The connection gets an ERROR with {@code code} and is then closed by the server. */
  static Frame.Error assertErrorAndClosed(RawClient c, ErrorCode code) throws IOException {
    Frame.Error e = c.readUntil(Frame.Error.class);
    assertThat(e.code()).as(e.message()).isEqualTo(code);
    assertThat(c.awaitClosed(Duration.ofSeconds(5))).as("closed after " + code).isTrue();
    return e;
  }

  @Test
  void messageToAClientIsAckedToTheSenderAndDeliveredWithItsId() throws IOException {
    InetSocketAddress a = start();
    RawClient alice = login(a, "alice");
    RawClient bob = login(a, "bob");
    alice.send(toClient(1, "bob", "hello"));
    assertThat(alice.readUntil(Frame.Ack.class)).isEqualTo(new Frame.Ack(1));
    assertThat(bob.read()).isEqualTo(new Frame.Data(1, TargetKind.CLIENT, "bob", "alice", utf8("hello")));
    bob.send(new Frame.Ack(1));
    bob.send(toClient(1, "alice", "hi"));
    assertThat(alice.readUntil(Frame.Data.class).from()).isEqualTo("bob");
  }

  @Test
  void topicMessagesReachEverySubscriberAndStopAfterUnsubscribe() throws IOException {
    InetSocketAddress a = start();
    RawClient alice = login(a, "alice");
    RawClient bob = login(a, "bob");
    RawClient carol = login(a, "carol");
    bob.send(new Frame.Subscribe(1, "news"));
    carol.send(new Frame.Subscribe(1, "news"));
    assertThat(bob.readUntil(Frame.Ack.class).seq()).isEqualTo(1);
    assertThat(carol.readUntil(Frame.Ack.class).seq()).isEqualTo(1);
    alice.send(new Frame.Data(1, TargetKind.TOPIC, "news", "", utf8("extra")));
    Frame.Data expected = new Frame.Data(1, TargetKind.TOPIC, "news", "alice", utf8("extra"));
    assertThat(bob.readUntil(Frame.Data.class)).isEqualTo(expected);
    assertThat(carol.readUntil(Frame.Data.class)).isEqualTo(expected);
    carol.send(new Frame.Unsubscribe(2, "news"));
    assertThat(carol.readUntil(Frame.Ack.class).seq()).isEqualTo(2);
    alice.send(new Frame.Data(2, TargetKind.TOPIC, "news", "", utf8("second")));
    assertThat(bob.readUntil(Frame.Data.class).seq()).isEqualTo(2);
    // carol hears nothing more: a ping round trip proves the server had its chance to send.
    carol.send(new Frame.Ping(9));
    assertThat(carol.read()).isEqualTo(new Frame.Pong(9));
    assertThat(server.publishToTopic("news", utf8("from backend"))).isEqualTo(1);
    assertThat(bob.readUntil(Frame.Data.class).from()).isEmpty();
  }

  @Test
  void aTopicFannedOutToManySubscribersArrivesWholeAndInOrderThroughGatheredWrites() throws IOException {
    fanOutToManySubscribers(ServerConfig.builder(), false);
  }

  @Test
  void aTopicFannedOutToIdleSubscribersWithoutOutboundBuffersArrivesWholeAndInOrder() throws IOException {
    fanOutToManySubscribers(ServerConfig.builder().sweepInterval(Duration.ofMillis(100)), true);
  }

  private void fanOutToManySubscribers(ServerConfig.Builder config, boolean idleFirst) throws IOException {
    // A long delay: 64 writes surely fall within it however slow the machine (NIO here: ~0.25 ms a write).
    InetSocketAddress a = start(config.writeCoalescing(Duration.ofMillis(200)), Authenticator.acceptAll());
    List<RawClient> subscribers = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      RawClient c = login(a, "sub-" + i);
      c.send(new Frame.Subscribe(1, "live"));
      subscribers.add(c);
    }
    for (RawClient c : subscribers) {
      assertThat(c.readUntil(Frame.Ack.class).seq()).isEqualTo(1);
    }
    if (idleFirst) {
      await().atMost(Duration.ofSeconds(20)).until(() -> server.connections().stream().noneMatch(c -> holdsOutboundBuffer(c)));
    }
    RawClient alice = login(a, "alice");
    int messages = 40;
    for (int m = 1; m <= messages; m++) {
      alice.send(new Frame.Data(m, TargetKind.TOPIC, "live", "", utf8("m" + m)));
    }
    for (RawClient c : subscribers) {
      for (int m = 1; m <= messages; m++) {
        assertThat(c.readUntil(Frame.Data.class)).isEqualTo(new Frame.Data(m, TargetKind.TOPIC, "live", "alice", utf8("m" + m)));
      }
    }
    // 12,000 deliveries to 300 connections on 2 loops: the loops were busy and gathered writes.
    assertThat(server.stats().coalescedWrites()).isPositive();
  }

  @Test
  void secondLoginWithTheSameIdReplacesTheFirst() throws IOException {
    InetSocketAddress a = start();
    RawClient first = login(a, "bob");
    RawClient second = login(a, "bob");
    Frame.GoAway g = first.readUntil(Frame.GoAway.class);
    assertThat(g.code()).isEqualTo(ErrorCode.REPLACED);
    assertThat(first.awaitClosed(Duration.ofSeconds(5))).isTrue();
    RawClient alice = login(a, "alice");
    alice.send(toClient(1, "bob", "to the new one"));
    assertThat(second.readUntil(Frame.Data.class).payload()).isEqualTo(utf8("to the new one"));
    await().until(() -> server.stats().sessions() == 2 && server.stats().connections() == 2);
  }

  @Test
  void silentConnectionIsClosedAfterIntervalTimesMissesWhilePingingOneStays() throws Exception {
    InetSocketAddress a = start(ServerConfig.builder().heartbeatInterval(Duration.ofMillis(200)).heartbeatMisses(2),
        Authenticator.acceptAll());
    RawClient silent = login(a, "silent");
    RawClient pinger = login(a, "pinger");
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    AtomicInteger pings = new AtomicInteger();
    try {
      timer.scheduleAtFixedRate(() -> {
        try {
          pinger.send(new Frame.Ping(pings.incrementAndGet()));
        } catch (IOException e) {
          // the assertion below reports it
        }
      }, 0, 100, TimeUnit.MILLISECONDS);
      long t0 = System.nanoTime();
      Frame.Error e = assertErrorAndClosed(silent, ErrorCode.HEARTBEAT_TIMEOUT);
      assertThat(e.message()).contains("400 ms");
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
      await().until(() -> pings.get() >= 8); // well past the 400 ms window
      pinger.send(toClient(1, "pinger", "still here"));
      assertThat(pinger.readUntil(Frame.Data.class).payload()).isEqualTo(utf8("still here"));
    } finally {
      timer.shutdownNow();
    }
    await().until(() -> server.stats().connections() == 1 && server.stats().detachedSessions() == 1);
  }

  @Test
  void connectionWithoutHelloIsClosedAtTheHandshakeTimeout() throws IOException {
    InetSocketAddress a = start(ServerConfig.builder().handshakeTimeout(Duration.ofMillis(300)), Authenticator.acceptAll());
    RawClient idle = connect(a);
    idle.sendBytes(new byte[] {0, 0}); // half a length prefix, then nothing
    assertErrorAndClosed(idle, ErrorCode.HANDSHAKE_TIMEOUT);
    await().until(() -> server.stats().connections() == 0);
  }

  @Test
  void badTokenIsRefused() throws IOException {
    InetSocketAddress a = start(ServerConfig.builder(), (id, token, remote) ->
        "secret".equals(token) ? Authenticator.AuthResult.accept(id) : Authenticator.AuthResult.reject("bad token"));
    RawClient c = connect(a);
    c.send(Frame.Hello.newSession("alice", "guess"));
    assertThat(assertErrorAndClosed(c, ErrorCode.AUTH_FAILED).message()).contains("refused").doesNotContain("bad token"); // the reason goes to the log only
    RawClient ok = connect(a);
    ok.send(Frame.Hello.newSession("alice", "secret"));
    assertThat(ok.read()).isInstanceOf(Frame.Welcome.class);
  }

  @Test
  void wrongVersionIsRefusedNamingTheSupportedOne() throws IOException {
    RawClient c = connect(start());
    c.send(new Frame.Hello(4, "alice", "", "", 0, 0));
    assertThat(assertErrorAndClosed(c, ErrorCode.UNSUPPORTED_VERSION).message()).isEqualTo("version 4 (expected: 1..3)");
  }

  /** Attempt stamps: increasing, like a client's. */
  static final java.util.concurrent.atomic.AtomicLong STAMPS = new java.util.concurrent.atomic.AtomicLong(1000);

  static Frame.Hello resumeHello(String id, Frame.Welcome w, long lastReceived) {
    return new Frame.Hello(1, id, "", w.sessionId(), lastReceived, STAMPS.incrementAndGet());
  }

  @Test
  void resumeReplaysWhatTheClientHasNotAcknowledgedAndBuffersWhileAway() throws IOException {
    InetSocketAddress a = start();
    RawClient alice = login(a, "alice");
    RawClient bob = connect(a);
    bob.send(Frame.Hello.newSession("bob", ""));
    Frame.Welcome w = bob.readUntil(Frame.Welcome.class);
    assertThat(w.sessionRetentionMs()).isEqualTo(120_000);
    for (int i = 1; i <= 3; i++) {
      alice.send(toClient(i, "bob", "m" + i));
    }
    for (int i = 1; i <= 3; i++) {
      assertThat(bob.readUntil(Frame.Data.class).seq()).isEqualTo(i);
    }
    bob.send(new Frame.Ack(1));
    bob.send(toClient(1, "alice", "from bob 1")); // will be replayed: the server must drop the copy
    assertThat(bob.readUntil(Frame.Ack.class).seq()).isEqualTo(1);
    assertThat(alice.readUntil(Frame.Data.class).payload()).isEqualTo(utf8("from bob 1"));
    bob.close();
    await().until(() -> server.stats().detachedSessions() == 1);
    alice.send(toClient(4, "bob", "m4")); // buffered while bob is away
    alice.send(toClient(5, "bob", "m5"));
    alice.readAckOf(5);
    RawClient bob2 = connect(a);
    bob2.send(resumeHello("bob", w, 2)); // bob had delivered 1 and 2 to his application
    Frame.Welcome w2 = bob2.readUntil(Frame.Welcome.class);
    assertThat(w2.sessionStatus()).isEqualTo(io.longlink.protocol.SessionStatus.RESUMED);
    assertThat(w2.sessionId()).isEqualTo(w.sessionId());
    assertThat(w2.lastReceivedSeq()).isEqualTo(1);
    for (int i = 3; i <= 5; i++) {
      Frame.Data d = bob2.readUntil(Frame.Data.class);
      assertThat(d.seq()).isEqualTo(i);
      assertThat(new String(d.payload(), StandardCharsets.UTF_8)).isEqualTo("m" + i);
    }
    bob2.send(toClient(1, "alice", "from bob 1")); // the replay: a duplicate, acked, not routed again
    bob2.send(toClient(2, "alice", "from bob 2"));
    assertThat(bob2.readAckOf(2).seq()).isEqualTo(2);
    // alice got "from bob 1" once, before the cut; the next thing she gets is bob's second message.
    assertThat(alice.readUntil(Frame.Data.class).payload()).isEqualTo(utf8("from bob 2"));
    assertThat(server.stats().resumed()).isEqualTo(1);
  }

  @Test
  void resumeTakesOverAConnectionTheServerStillThinksAlive() throws IOException {
    InetSocketAddress a = start();
    RawClient old = connect(a);
    old.send(Frame.Hello.newSession("bob", ""));
    Frame.Welcome w = old.readUntil(Frame.Welcome.class);
    server.publishToClient("bob", utf8("in flight"));
    assertThat(old.readUntil(Frame.Data.class).seq()).isEqualTo(1); // written, never acked
    RawClient fresh = connect(a);
    fresh.send(resumeHello("bob", w, 0));
    assertThat(fresh.readUntil(Frame.Welcome.class).sessionStatus()).isEqualTo(io.longlink.protocol.SessionStatus.RESUMED);
    assertThat(fresh.readUntil(Frame.Data.class).payload()).isEqualTo(utf8("in flight"));
    assertThat(old.readUntil(Frame.GoAway.class).code()).isEqualTo(ErrorCode.REPLACED);
    assertThat(old.awaitClosed(Duration.ofSeconds(5))).isTrue();
    await().until(() -> server.stats().connections() == 1 && server.stats().sessions() == 1 && server.stats().detachedSessions() == 0);
  }

  @Test
  void aLateHelloFromAnAbandonedAttemptCannotTakeTheSession() throws IOException {
    InetSocketAddress a = start();
    RawClient first = connect(a);
    first.send(new Frame.Hello(1, "bob", "", "", 0, 100));
    Frame.Welcome w = first.readUntil(Frame.Welcome.class);
    RawClient newer = connect(a);
    newer.send(new Frame.Hello(1, "bob", "", w.sessionId(), 0, 300));
    assertThat(newer.readUntil(Frame.Welcome.class).sessionStatus()).isEqualTo(io.longlink.protocol.SessionStatus.RESUMED);
    RawClient stale = connect(a);
    stale.send(new Frame.Hello(1, "bob", "", w.sessionId(), 0, 200)); // older attempt, arriving last
    assertThat(stale.readUntil(Frame.GoAway.class).code()).isEqualTo(ErrorCode.REPLACED);
    server.publishToClient("bob", utf8("still mine"));
    assertThat(newer.readUntil(Frame.Data.class).payload()).isEqualTo(utf8("still mine"));
  }

  @Test
  void aSessionIdAloneResumesNothingForAnotherClientId() throws IOException {
    InetSocketAddress a = start();
    RawClient bob = connect(a);
    bob.send(Frame.Hello.newSession("bob", ""));
    Frame.Welcome w = bob.readUntil(Frame.Welcome.class);
    RawClient mallory = connect(a);
    mallory.send(resumeHello("mallory", w, 0));
    Frame.Welcome mw = mallory.readUntil(Frame.Welcome.class);
    assertThat(mw.sessionStatus()).isEqualTo(io.longlink.protocol.SessionStatus.LOST); // as if unknown
    assertThat(mw.sessionId()).isNotEqualTo(w.sessionId());
    server.publishToClient("bob", utf8("for bob"));
    assertThat(bob.readUntil(Frame.Data.class).payload()).isEqualTo(utf8("for bob")); // bob unaffected
  }

  @Test
  void resumeIsBoundToTheAuthenticatedSubject() throws IOException {
    // The token names the subject; the same client id with another subject may not take the session.
    InetSocketAddress a = start(ServerConfig.builder(),
        (clientId, token, remote) -> Authenticator.AuthResult.accept(token));
    RawClient bob = connect(a);
    bob.send(new Frame.Hello(1, "bob", "alice-account", "", 0, 1));
    Frame.Welcome w = bob.readUntil(Frame.Welcome.class);
    RawClient mallory = connect(a);
    mallory.send(new Frame.Hello(1, "bob", "mallory-account", w.sessionId(), 0, 2));
    assertThat(assertErrorAndClosed(mallory, ErrorCode.RESUME_REFUSED).message()).contains("another subject");
    bob.send(new Frame.Ping(1));
    assertThat(bob.readUntil(Frame.Pong.class)).isEqualTo(new Frame.Pong(1)); // bob unaffected
  }

  @Test
  void sessionsExpireAfterRetentionAndResumeIsThenLost() throws IOException {
    InetSocketAddress a = start(ServerConfig.builder().sessionRetention(Duration.ofMillis(200)), Authenticator.acceptAll());
    RawClient bob = connect(a);
    bob.send(Frame.Hello.newSession("bob", ""));
    Frame.Welcome w = bob.readUntil(Frame.Welcome.class);
    bob.close();
    await().until(() -> server.stats().detachedSessions() == 1);
    await().until(() -> server.stats().detachedSessions() == 0 && server.stats().sessions() == 0);
    RawClient again = connect(a);
    again.send(resumeHello("bob", w, 0));
    Frame.Welcome w2 = again.readUntil(Frame.Welcome.class);
    assertThat(w2.sessionStatus()).isEqualTo(io.longlink.protocol.SessionStatus.LOST);
    assertThat(w2.sessionId()).isNotEqualTo(w.sessionId());
  }

  @Test
  void replayBufferOverflowWhileAwayIsReportedAsLost() throws IOException {
    InetSocketAddress a = start(ServerConfig.builder().replayBufferMessages(3), Authenticator.acceptAll());
    RawClient bob = connect(a);
    bob.send(Frame.Hello.newSession("bob", ""));
    Frame.Welcome w = bob.readUntil(Frame.Welcome.class);
    bob.close();
    await().until(() -> server.stats().detachedSessions() == 1);
    for (int i = 0; i < 5; i++) {
      server.publishToClient("bob", utf8("m" + i));
    }
    RawClient again = connect(a);
    again.send(resumeHello("bob", w, 0));
    Frame.Welcome w2 = again.readUntil(Frame.Welcome.class);
    assertThat(w2.sessionStatus()).isEqualTo(io.longlink.protocol.SessionStatus.LOST);
    assertThat(w2.lostMessages()).isEqualTo(5); // 3 buffered that bob never got, 2 that did not fit
  }

  @Test
  void clientThatDoesNotAckPastTheReplayBufferIsASlowConsumer() throws IOException {
    InetSocketAddress a = start(ServerConfig.builder().replayBufferMessages(3), Authenticator.acceptAll());
    RawClient bob = login(a, "bob");
    for (int i = 0; i < 4; i++) {
      server.publishToClient("bob", utf8("m" + i));
    }
    assertErrorAndClosed(bob, ErrorCode.SLOW_CONSUMER);
  }

  @Test
  void resumeOfAnUnknownSessionIsAnsweredLost() throws IOException {
    RawClient c = connect(start());
    c.send(new Frame.Hello(1, "alice", "", "0123456789abcdef0123456789abcdef", 7, 1));
    Frame.Welcome w = c.readUntil(Frame.Welcome.class);
    assertThat(w.sessionStatus()).isEqualTo(io.longlink.protocol.SessionStatus.LOST);
    assertThat(w.sessionId()).isNotEqualTo("0123456789abcdef0123456789abcdef");
  }

  @Test
  void malformedInputGetsATypedErrorAndAClose() throws IOException {
    InetSocketAddress a = start();
    assertErrorAndClosed(sendRaw(a, utf8("GET / HTTP/1.1\r\nHost: x\r\n\r\n")), ErrorCode.FRAME_TOO_LARGE);
    assertErrorAndClosed(sendRaw(a, new byte[] {0, 0, 0, 0}), ErrorCode.PROTOCOL_ERROR);
    assertErrorAndClosed(sendRaw(a, new byte[] {0, 0, 0, 1, 0x7f}), ErrorCode.UNKNOWN_FRAME_TYPE);
    // HELLO whose client id is the overlong UTF-8 pair c0 af
    assertErrorAndClosed(sendRaw(a, new byte[] {0, 0, 0, 27, 1, 0, 1, 0, 2, (byte) 0xc0, (byte) 0xaf, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), ErrorCode.PROTOCOL_ERROR);
    // before the handshake, frames above 8 KiB are refused without reading them
    assertErrorAndClosed(sendRaw(a, new byte[] {0, 0, 0x20, 1, 1}), ErrorCode.FRAME_TOO_LARGE);
    RawClient early = connect(a);
    early.send(toClient(1, "bob", "too early"));
    assertErrorAndClosed(early, ErrorCode.UNEXPECTED_FRAME);
    RawClient twice = login(a, "twice");
    twice.send(Frame.Hello.newSession("twice", ""));
    assertErrorAndClosed(twice, ErrorCode.UNEXPECTED_FRAME);
    RawClient big = login(a, "big");
    big.sendBytes(new byte[] {0, 0x10, 0, 1, 0x10});
    assertErrorAndClosed(big, ErrorCode.FRAME_TOO_LARGE);
    RawClient gap = login(a, "gap");
    gap.send(toClient(5, "bob", "skipped"));
    assertErrorAndClosed(gap, ErrorCode.SEQUENCE_GAP);
    // The three that had logged in keep their sessions for resume; nothing else is left.
    await().until(() -> server.stats().connections() == 0 && server.stats().sessions() == 3 && server.stats().detachedSessions() == 3);
  }

  private RawClient sendRaw(InetSocketAddress a, byte[] bytes) throws IOException {
    RawClient c = connect(a);
    c.sendBytes(bytes);
    return c;
  }

  @Test
  void garbageOnSomeConnectionsDoesNotDisturbAnExchangeOnOthers() throws Exception {
    InetSocketAddress a = start();
    RawClient alice = login(a, "alice");
    RawClient bob = login(a, "bob");
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger attacks = new AtomicInteger();
    Thread attacker = Thread.ofPlatform().start(() -> {
      ThreadLocalRandom r = ThreadLocalRandom.current();
      while (!stop.get() && attacks.get() < 2000) {
        try (RawClient c = RawClient.connect(a)) {
          if (r.nextBoolean()) {
            c.send(Frame.Hello.newSession("mallory" + r.nextInt(1000), ""));
          }
          byte[] junk = new byte[r.nextInt(1, 200)];
          r.nextBytes(junk);
          c.sendBytes(junk);
          c.awaitClosed(Duration.ofMillis(200));
        } catch (IOException e) {
          // reset by the server: expected
        }
        attacks.incrementAndGet();
      }
    });
    int n = 2000;
    Thread sender = Thread.ofPlatform().start(() -> {
      try {
        for (int i = 1; i <= n; i++) {
          alice.send(toClient(i, "bob", "m" + i));
        }
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    for (int i = 1; i <= n; i++) {
      Frame.Data d = bob.readUntil(Frame.Data.class);
      assertThat(d.seq()).isEqualTo(i);
      assertThat(new String(d.payload(), StandardCharsets.UTF_8)).isEqualTo("m" + i);
    }
    sender.join();
    stop.set(true);
    attacker.join();
    assertThat(attacks.get()).isPositive();
    assertThat(server.state()).isEqualTo(LonglinkServer.State.RUNNING);
    await().until(() -> server.stats().connections() == 2);
  }

  @Test
  void closingTheServerClosesEveryConnection() throws IOException {
    InetSocketAddress a = start();
    List<RawClient> logged = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      logged.add(login(a, "c" + i));
    }
    server.close();
    for (RawClient c : logged) {
      assertThat(c.awaitClosed(Duration.ofSeconds(5))).as("closed by the server").isTrue();
    }
  }

  @Test
  void messageToAnUnknownClientIsAckedAndCounted() throws IOException {
    RawClient alice = login(start(), "alice");
    alice.send(toClient(1, "nobody", "x"));
    assertThat(alice.readUntil(Frame.Ack.class).seq()).isEqualTo(1);
    assertThat(server.stats().undeliverable()).isEqualTo(1);
  }

  @Test
  void frameExactlyAtTheLimitIsAccepted() throws IOException {
    RawClient alice = login(start(ServerConfig.builder().maxFrameSize(16_384), Authenticator.acceptAll()), "alice");
    // length = 1 type + 8 seq + 1 kind + 7 target + 2 from + 4 payload length + payload
    int payload = 16_384 - 23;
    Frame.Data d = new Frame.Data(1, TargetKind.CLIENT, "alice", "", new byte[payload]);
    io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.buffer();
    FrameCodec.encode(d, b);
    assertThat(b.getInt(0)).isEqualTo(16_384);
    alice.send(d);
    assertThat(alice.readUntil(Frame.Data.class).payload()).hasSize(payload);
  }
}
