package io.longlink.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.longlink.client.ClientState;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.LonglinkException;
import io.longlink.client.ReceivedMessage;
import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.SessionStatus;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.protocol.testing.RawClient;
import io.longlink.server.spi.ClusterStore;
import io.longlink.testing.Closer;
import io.longlink.testing.RedisProcess;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three gateway nodes sharing sessions and routing through a real Redis: messages cross nodes,
 * sessions resume on another node after their node stops or drains, a stale node is fenced off,
 * and a Redis outage degrades to local delivery and recovers. Every scenario checks that the
 * application sees each message once and in order.
 */
class ClusterTest {
  @RegisterExtension final Closer open = new Closer();

  /** Starts the Redis the scenario runs against (one standalone here) and returns its URI. */
  String redis(Path dir) throws Exception {
    RedisProcess redis = RedisProcess.start(dir);
    open.add(redis);
    return redis.uri();
  }

  LonglinkServer node(String uri, String id) {
    return node(uri, id, io.longlink.server.Authorizer.byCredential());
  }

  LonglinkServer node(String uri, String id, io.longlink.server.Authorizer authorizer) {
    LonglinkServer s = LonglinkServer.builder()
        .config(ServerConfig.builder().port(0).heartbeatInterval(Duration.ofSeconds(1)).build())
        .authorizer(authorizer)
        .cluster(RedisNodeRegistry.connect(uri, "test", Duration.ofSeconds(3)), id, "", "")
        .clusterStore(RedisClusterStore.connect(uri, "test", 10_000))
        .build().start();
    open.add(s);
    return s;
  }

  /** A client that records what it receives, with failover endpoints tried in order. */
  final class Recorder {
    final List<String> got = Collections.synchronizedList(new ArrayList<>());
    final LonglinkClient client;

    Recorder(String id, LonglinkServer... endpoints) {
      LonglinkClient.Builder b = LonglinkClient.builder().clientId(id).backoff(Duration.ofMillis(20), Duration.ofMillis(200))
          .listener(new io.longlink.client.ClientListener() {
            @Override
            public void onMessage(ReceivedMessage m) {
              got.add(new String(m.payload(), StandardCharsets.UTF_8));
            }
          });
      for (LonglinkServer e : endpoints) {
        b.endpoint(e.localAddress());
      }
      client = b.build();
      open.add(client);
      client.connect().join();
    }
  }

  static List<String> numbered(String prefix, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void messagesCrossNodesToClientsAndTopicSubscribersOnceAndInOrder(@TempDir Path dir) throws Exception {
    String redis = redis(dir);
    LonglinkServer a = node(redis, "a");
    LonglinkServer b = node(redis, "b");
    LonglinkServer c = node(redis, "c");
    Recorder alice = new Recorder("alice", a);
    Recorder bob = new Recorder("bob", b);
    Recorder carol = new Recorder("carol", c);
    Recorder dave = new Recorder("dave", a);
    carol.client.subscribe("news").join();
    dave.client.subscribe("news").join();

    List<CompletableFuture<Void>> sent = new ArrayList<>();
    for (String m : numbered("u", 300)) {
      sent.add(alice.client.send(Destination.client("bob"), utf8(m)));
    }
    for (String m : numbered("t", 200)) {
      sent.add(bob.client.send(Destination.topic("news"), utf8(m)));
    }
    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
    assertThat(c.publishToClient("alice", utf8("from-backend"))).isEqualTo(1);

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(bob.client.messagesDroppedByServer()).as("dropped").isZero();
      assertThat(bob.got).containsExactlyElementsOf(numbered("u", 300));
      assertThat(carol.got).containsExactlyElementsOf(numbered("t", 200)); // on c, through c's queue
      assertThat(dave.got).containsExactlyElementsOf(numbered("t", 200)); // on a
      assertThat(alice.got).containsExactly("from-backend");
    });
    assertThat(b.publishToClient("nobody", utf8("x"))).isZero();
    // Sessions in Redis are leased, never kept for good: a node that dies leaves nothing forever.
    io.lettuce.core.AbstractRedisClient raw = RedisConnections.client(redis);
    try {
      var conn = RedisConnections.connect(raw, io.lettuce.core.codec.StringCodec.UTF8);
      for (String id : List.of("alice", "bob", "carol", "dave")) {
        assertThat(RedisConnections.sync(conn).pttl("test:s:{" + id + "}:m")).as(id).isPositive();
      }
      conn.close();
    } finally {
      raw.shutdown();
    }
  }

  /** Redis as the nodes see it (one Redis or a Redis Cluster), for checking what they left there. */
  io.lettuce.core.cluster.api.sync.RedisClusterCommands<String, String> inspect(String uri) {
    io.lettuce.core.AbstractRedisClient client = RedisConnections.client(uri);
    open.add(() -> client.shutdown());
    return RedisConnections.sync(RedisConnections.connect(client, io.lettuce.core.codec.StringCodec.UTF8));
  }

  @Test
  void whatAClientAcknowledgedLeavesItsLogInRedisAndNewKeysGetTheSessionsTimeToLive(@TempDir Path dir)
      throws Exception {
    String redis = redis(dir);
    LonglinkServer a = node(redis, "a");
    LonglinkServer b = node(redis, "b");
    Recorder alice = new Recorder("alice", a);
    Recorder bob = new Recorder("bob", b);
    var r = inspect(redis);
    // 10 messages: fewer than a trim waits for, so the sweep trims them; then 200: trimmed as they go.
    for (int round : new int[] {10, 200}) {
      bob.got.clear();
      List<CompletableFuture<Void>> sent = new ArrayList<>();
      for (String m : numbered("m", round)) {
        sent.add(alice.client.send(Destination.client("bob"), utf8(m)));
      }
      CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(10)).until(() -> bob.got.size() == round);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(r.xlen("test:s:{bob}:l")).as("bob's log in Redis after he acknowledged").isZero());
    }
    for (String key : List.of("test:s:{bob}:m", "test:s:{bob}:l", "test:s:{bob}:d")) {
      assertThat(r.pttl(key)).as("time to live of %s", key).isPositive();
    }
  }

  /** A node whose sessions keep at most {@code buffer} unacknowledged messages, in memory and in Redis. */
  LonglinkServer node(String uri, String id, int buffer) {
    LonglinkServer s = LonglinkServer.builder()
        .config(ServerConfig.builder().port(0).replayBufferMessages(buffer).build())
        .cluster(RedisNodeRegistry.connect(uri, "test", Duration.ofSeconds(3)), id, "", "")
        .clusterStore(RedisClusterStore.connect(uri, "test", buffer))
        .build().start();
    open.add(s);
    return s;
  }

  @Test
  void aClientTooSlowForItsLogOnAnotherNodeIsToldInsteadOfLeftWaiting(@TempDir Path dir) throws Exception {
    String redis = redis(dir);
    LonglinkServer a = node(redis, "a", 10); // a's deliveries hold a log to 10 messages
    LonglinkServer b = node(redis, "b", 20); // b's sessions buffer 20
    Recorder alice = new Recorder("alice", a);
    try (RawClient slow = RawClient.login(b.localAddress(), "slow")) { // reads, never acknowledges
      List<CompletableFuture<Void>> sent = new ArrayList<>();
      for (String m : numbered("m", 30)) {
        sent.add(alice.client.send(Destination.client("slow"), utf8(m)));
      }
      CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
      // Its log in Redis took 10; the rest were refused there, on a's side, while b's own buffer
      // (20) had room. b, which holds the session, is told and applies the slow-consumer policy
      // rather than leaving its client to wait for messages that will never come.
      Frame.Error error = slow.readUntil(Frame.Error.class);
      assertThat(error.code()).isEqualTo(ErrorCode.SLOW_CONSUMER);
    }
  }

  @Test
  void clientsOfAStoppedNodeResumeOnAnotherWithNothingLostOrDuplicated(@TempDir Path dir) throws Exception {
    String redis = redis(dir);
    LonglinkServer a = node(redis, "a");
    LonglinkServer b = node(redis, "b");
    Recorder alice = new Recorder("alice", a, b);
    Recorder bob = new Recorder("bob", b);
    String session = alice.client.sessionId();

    int total = 600;
    CompletableFuture<Void> traffic = CompletableFuture.runAsync(() -> {
      List<CompletableFuture<Void>> sent = new ArrayList<>();
      for (String m : numbered("m", total)) {
        sent.add(bob.client.send(Destination.client("alice"), utf8(m)));
        if (sent.size() % 50 == 0) {
          sent.get(sent.size() - 1).join(); // keep traffic flowing while node a goes away
        }
      }
      CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> alice.got.size() >= 100);
    a.close(); // abrupt for its clients: no GOAWAY, connections just close
    traffic.get(30, TimeUnit.SECONDS);

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(alice.client.state()).isEqualTo(ClientState.CONNECTED);
      assertThat(alice.got).containsExactlyElementsOf(numbered("m", total));
    });
    assertThat(alice.client.sessionId()).isEqualTo(session); // resumed on b, not a new session
    assertThat(b.sessions("alice", 1)).hasSize(1);
  }

  @Test
  void authorizationHoldsOnEveryNodeAndAfterASessionMoves(@TempDir Path dir) throws Exception {
    String redis = redis(dir);
    io.longlink.server.auth.AclAuthorizer acl = io.longlink.server.auth.AclAuthorizer.parse("""
        alice  publish    news   allow
        *      publish    *      deny
        *      subscribe  news   allow
        *      subscribe  *      deny
        *      send       ops    deny
        *      send       *      allow
        """, "cluster.acl");
    LonglinkServer a = node(redis, "a", acl);
    LonglinkServer b = node(redis, "b", acl);
    Recorder alice = new Recorder("alice", a, b);
    Recorder bob = new Recorder("bob", b);
    Recorder carol = new Recorder("carol", b);
    carol.client.subscribe("news").get(10, TimeUnit.SECONDS);
    assertForbidden(carol.client.subscribe("secret"));
    assertForbidden(bob.client.send(Destination.topic("news"), utf8("bob may not publish")));
    assertForbidden(alice.client.send(Destination.client("ops"), utf8("no")));
    alice.client.send(Destination.client("bob"), utf8("a1")).get(10, TimeUnit.SECONDS); // a → b
    alice.client.send(Destination.topic("news"), utf8("n1")).get(10, TimeUnit.SECONDS);
    String session = alice.client.sessionId();

    a.close(); // alice's session moves to b, where the same rules apply to it
    await().atMost(Duration.ofSeconds(20)).until(() -> alice.client.state() == ClientState.CONNECTED
        && b.sessions("alice", 1).size() == 1);
    assertThat(alice.client.sessionId()).isEqualTo(session);
    assertForbidden(alice.client.send(Destination.client("ops"), utf8("still no")));
    alice.client.send(Destination.client("bob"), utf8("a2")).get(10, TimeUnit.SECONDS);
    alice.client.send(Destination.topic("news"), utf8("n2")).get(10, TimeUnit.SECONDS);

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(bob.got).containsExactly("a1", "a2");
      assertThat(carol.got).containsExactly("n1", "n2");
    });
    assertThat(alice.client.state()).isEqualTo(ClientState.CONNECTED);
    assertThat(bob.client.reconnects()).isZero();
    assertThat(carol.client.reconnects()).isZero();
  }

  static void assertForbidden(CompletableFuture<?> f) {
    assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause()
        .isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
  }

  @Test
  void drainingNodeMovesItsClientsWithoutLoss(@TempDir Path dir) throws Exception {
    String redis = redis(dir);
    LonglinkServer a = node(redis, "a");
    LonglinkServer b = node(redis, "b");
    LonglinkServer c = node(redis, "c");
    List<Recorder> onA = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      onA.add(new Recorder("r" + i, a, b, c));
    }
    Recorder sender = new Recorder("sender", c);
    int each = 60;
    CompletableFuture<Void> traffic = CompletableFuture.runAsync(() -> {
      List<CompletableFuture<Void>> sent = new ArrayList<>();
      for (int n = 1; n <= each; n++) {
        for (int i = 0; i < onA.size(); i++) {
          sent.add(sender.client.send(Destination.client("r" + i), utf8("m" + n)));
        }
        if (n % 10 == 0) {
          sent.get(sent.size() - 1).join();
        }
      }
      CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> onA.get(0).got.size() >= 10);
    LonglinkServer.DrainResult drained = a.drain(Duration.ofMillis(300), Duration.ofSeconds(10));
    assertThat(drained.allLeft()).isTrue();
    traffic.get(30, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      for (Recorder r : onA) {
        assertThat(r.got).containsExactlyElementsOf(numbered("m", each));
        assertThat(r.client.state()).isEqualTo(ClientState.CONNECTED);
      }
    });
    assertThat(b.stats().sessions() + c.stats().sessions()).isEqualTo(onA.size() + 1);
  }

  @Test
  void aNodeWhoseSessionMovedIsFencedOff(@TempDir Path dir) throws Exception {
    String redis = redis(dir);
    LonglinkServer a = node(redis, "a");
    LonglinkServer b = node(redis, "b");
    try (RawClient onA = RawClient.connect(a.localAddress())) {
      onA.send(new Frame.Hello(Frame.VERSION, "alice", "", "", 0, 1));
      Frame.Welcome w = (Frame.Welcome) onA.read();
      try (RawClient onB = RawClient.connect(b.localAddress())) {
        onB.send(new Frame.Hello(Frame.VERSION, "alice", "", w.sessionId(), 0, 2));
        Frame.Welcome moved = (Frame.Welcome) onB.read();
        assertThat(moved.sessionStatus()).isEqualTo(SessionStatus.RESUMED);
        // Node a is told, lets go of the session, and sends its connection away.
        Frame last = onA.read();
        assertThat(last).isInstanceOf(Frame.GoAway.class);
        assertThat(((Frame.GoAway) last).code()).isEqualTo(ErrorCode.REPLACED);
      }
    }
    // A node that did not hear of the move (half-alive) and writes with its old epoch is refused.
    try (RedisClusterStore stale = RedisClusterStore.connect(redis, "test", 100);
        RedisClusterStore fresh = RedisClusterStore.connect(redis, "test", 100)) {
      stale.start("stale-node", 60_000, IGNORE);
      fresh.start("fresh-node", 60_000, IGNORE);
      ClusterStore.Created first = stale.create("zoe", "s1", "zoe").toCompletableFuture().get();
      ClusterStore.Snapshot claimed = fresh.claim("zoe", "s1").toCompletableFuture().get();
      assertThat(claimed.epoch()).isEqualTo(first.epoch() + 1);
      long old = first.epoch();
      assertFenced(stale.received("zoe", old, 5));
      assertFenced(stale.acknowledged("zoe", old, 1));
      assertFenced(stale.subscribe("zoe", old, "t", false));
      assertFenced(stale.keepFor("zoe", old, 1000));
      assertFenced(stale.end("zoe", old));
      assertFenced(stale.restore("zoe", "s1", old, 0, claimed));
      ClusterStore.Snapshot after = fresh.claim("zoe", "s1").toCompletableFuture().get();
      // The owner claiming its own session again (its client reconnected to it) keeps the epoch,
      // so its own writes still on their way are not fenced.
      assertThat(after.epoch()).isEqualTo(claimed.epoch());
      assertThat(after.lastReceivedSeq()).isZero(); // none of the stale writes landed
      assertThat(after.topics()).isEmpty();
      fresh.received("zoe", after.epoch(), 5).toCompletableFuture().get(); // the owner's do
      assertThat(fresh.claim("zoe", "s1").toCompletableFuture().get().lastReceivedSeq()).isEqualTo(5);
    }
  }

  /** A store's listener for a test that only writes through the store. */
  static final ClusterStore.Listener IGNORE = new ClusterStore.Listener() {
    @Override
    public void wake(String clientId) {}

    @Override
    public void moved(String clientId, String sessionId) {}

    @Override
    public void overflowed(String clientId) {}

    @Override
    public void topicMessage(String topic, ClusterStore.Message message, ClusterStore.Origin origin, Runnable done) {
      done.run();
    }

    @Override
    public void availability(boolean up, String why) {}
  };

  static void assertFenced(java.util.concurrent.CompletionStage<?> write) {
    assertThatThrownBy(() -> write.toCompletableFuture().get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class).cause().isInstanceOf(ClusterStore.FencedException.class)
        .hasMessageContaining("moved to another node");
  }

  @Test
  void redisOutageKeepsLocalDeliveryRejectsCrossNodeAndRecovers(@TempDir Path dir) throws Exception {
    RedisProcess redis = RedisProcess.start(dir, true);
    open.add(redis);
    LonglinkServer a = node(redis.uri(), "a");
    LonglinkServer b = node(redis.uri(), "b");
    Recorder alice = new Recorder("alice", a, b);
    Recorder dave = new Recorder("dave", a);
    Recorder bob = new Recorder("bob", b);
    alice.client.send(Destination.client("bob"), utf8("before")).get(5, TimeUnit.SECONDS);

    redis.restartAfter(() -> {
      await().atMost(Duration.ofSeconds(10)).until(() -> !a.clusterUnavailable().isEmpty());
      // Local delivery goes on from memory.
      for (String m : numbered("local", 20)) {
        alice.client.send(Destination.client("dave"), utf8(m)).join();
      }
      // Across nodes: a clear error, not silence.
      assertThatThrownBy(() -> alice.client.send(Destination.client("bob"), utf8("during")).get(5, TimeUnit.SECONDS))
          .cause().isInstanceOf(LonglinkException.class)
          .satisfies(e -> assertThat(((LonglinkException) e).code()).isEqualTo(ErrorCode.UNAVAILABLE));
      assertThat(alice.client.rejectedMessages()).isEqualTo(1);
      assertThat(a.meterRegistry().get("longlink.cluster.store.up").gauge().value()).isZero();
      assertThat(a.meterRegistry().get("longlink.cluster.rejected").functionCounter().count()).isEqualTo(1);
      assertThat(a.meterRegistry().get("longlink.cluster.sessions.dirty").gauge().value()).isPositive();
      assertThatThrownBy(() -> a.publishToClient("bob", utf8("x"))).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("unavailable");
      // A resume that needs Redis (bob's session lives on b) is sent away to retry, not lost.
      try (RawClient raw = RawClient.connect(a.localAddress())) {
        raw.send(new Frame.Hello(Frame.VERSION, "bob", "", bob.client.sessionId(), 0, System.currentTimeMillis()));
        Frame.GoAway away = raw.readUntil(Frame.GoAway.class);
        assertThat(away.code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(away.reconnectDelayMs()).isPositive();
        assertThat(away.reason()).contains("cluster store is unavailable");
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    await().atMost(Duration.ofSeconds(20)).until(() -> a.clusterUnavailable().isEmpty());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(a.meterRegistry().get("longlink.cluster.sessions.dirty").gauge().value()).isZero();
      assertThat(a.meterRegistry().get("longlink.cluster.restored").functionCounter().count()).isPositive();
    });
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
        assertThat(alice.client.send(Destination.client("bob"), utf8("after")).get(5, TimeUnit.SECONDS)).isNull());
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(dave.got).containsExactlyElementsOf(numbered("local", 20));
      assertThat(bob.got).containsExactly("before", "after");
    });
    // What alice's session did during the outage was written back: it resumes on b intact.
    String session = alice.client.sessionId();
    for (String m : numbered("late", 5)) {
      dave.client.send(Destination.client("alice"), utf8(m)).get(5, TimeUnit.SECONDS);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> alice.got.size() == 5);
    a.close();
    dave.client.close();
    bob.client.send(Destination.client("alice"), utf8("on-b")).get(10, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(alice.got).containsExactly("late1", "late2", "late3", "late4", "late5", "on-b");
      assertThat(alice.client.sessionId()).isEqualTo(session);
    });
  }
}
