package io.longlink.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.longlink.protocol.TargetKind;
import io.longlink.server.spi.ClusterStore.Delivery;
import io.longlink.server.spi.ClusterStore.Entry;
import io.longlink.server.spi.ClusterStore.Message;
import io.longlink.server.spi.ClusterStore.Origin;
import io.longlink.testing.Closer;
import io.longlink.testing.RedisProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The batched delivery path of {@link RedisClusterStore} against a real Redis. Redis is paused
 * ({@code CLIENT PAUSE}) while messages are handed to the store, so they wait and go out in
 * batches whatever the machine's speed; then the logs are read back: every message stored once,
 * in order per sender, with the outcome each was told.
 */
class BatchedDeliveryTest {
  @RegisterExtension final Closer open = new Closer();

  RedisProcess redis;
  RedisCommands<String, String> admin;

  RedisClusterStore store(Path dir, int maxLog, boolean persistent) throws Exception {
    redis = RedisProcess.start(dir, persistent);
    open.add(redis);
    RedisClusterStore store = RedisClusterStore.connect(redis.uri(), "b", maxLog);
    open.add(store);
    store.start("n1", 60_000, ClusterTest.IGNORE);
    RedisClient client = RedisClient.create(redis.uri());
    open.add(client::shutdown);
    StatefulRedisConnection<String, String> c = client.connect();
    admin = c.sync();
    return store;
  }

  static Message message(String text) {
    return new Message("sender", TargetKind.CLIENT, "r", text.getBytes(StandardCharsets.UTF_8));
  }

  static String text(Entry e) {
    return new String(e.message().payload(), StandardCharsets.UTF_8);
  }

  long evalCalls() {
    for (String line : admin.info("commandstats").split("\r\n")) {
      if (line.startsWith("cmdstat_evalsha:")) {
        return Long.parseLong(line.replaceAll(".*calls=(\\d+),.*", "$1"));
      }
    }
    return 0;
  }

  /**
   * Redis holds every write (scripts included) until {@link #unpause}: what the store is handed
   * meanwhile waits. Reads and this connection's commands go on.
   */
  void pause() {
    client("PAUSE", "10000", "WRITE");
  }

  void unpause() {
    client("UNPAUSE");
  }

  void client(String... args) {
    var a = new io.lettuce.core.protocol.CommandArgs<>(io.lettuce.core.codec.StringCodec.UTF8);
    for (String s : args) {
      a.add(s);
    }
    admin.dispatch(io.lettuce.core.protocol.CommandType.CLIENT,
        new io.lettuce.core.output.StatusOutput<>(io.lettuce.core.codec.StringCodec.UTF8), a);
  }

  @Test
  void concurrentSendersToSeveralSessionsAreStoredOnceEachInOrderInFewCalls(@TempDir Path dir) throws Exception {
    RedisClusterStore store = store(dir, 100_000, false);
    int senders = 4;
    int perSender = 1_500;
    int recipients = 3;
    for (int r = 0; r < recipients; r++) {
      store.create("r" + r, "sid-r" + r, "r" + r).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
    admin.configResetstat();
    Map<String, CompletableFuture<Delivery>> first = new java.util.concurrent.ConcurrentHashMap<>();
    Map<String, CompletableFuture<Delivery>> again = new java.util.concurrent.ConcurrentHashMap<>();
    pause();
    List<Thread> threads = new ArrayList<>();
    for (int k = 0; k < senders; k++) {
      int sender = k;
      threads.add(Thread.ofPlatform().start(() -> {
        for (int j = 1; j <= perSender; j++) {
          String id = sender + ":" + j;
          String to = "r" + (j % recipients);
          Origin origin = new Origin("s" + sender, j);
          first.put(id, store.deliver(to, message(id), origin).toCompletableFuture());
          // The same message again (a sender's replay): stored once.
          again.put(id, store.deliver(to, message(id), origin).toCompletableFuture());
        }
      }));
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(first.values()).noneMatch(CompletableFuture::isDone); // all of it waited for Redis
    unpause();
    CompletableFuture.allOf(first.values().toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
    CompletableFuture.allOf(again.values().toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);

    int deliveries = 2 * senders * perSender;
    assertThat(evalCalls()).as("script calls for %d deliveries", deliveries).isLessThan(deliveries / 50);
    for (String id : first.keySet()) {
      assertThat(first.get(id).join().seq()).as(id).isPositive();
      assertThat(again.get(id).join().seq()).as(id).isEqualTo(Delivery.DUPLICATE);
      assertThat(first.get(id).join().owner()).isEqualTo("n1");
    }
    Set<String> seen = new HashSet<>();
    for (int r = 0; r < recipients; r++) {
      List<Entry> log = store.entriesAfter("r" + r, 0, 100_000).toCompletableFuture().get(5, TimeUnit.SECONDS);
      assertThat(log).hasSize(senders * perSender / recipients);
      Map<Integer, Integer> lastOfSender = new HashMap<>();
      for (int i = 0; i < log.size(); i++) {
        Entry e = log.get(i);
        assertThat(e.seq()).isEqualTo(i + 1); // numbered without gaps
        String id = text(e);
        assertThat(seen.add(id)).as("stored once: %s", id).isTrue();
        assertThat(first.get(id).join().seq()).as("told its number: %s", id).isEqualTo(e.seq());
        int sender = Integer.parseInt(id.substring(0, id.indexOf(':')));
        int j = Integer.parseInt(id.substring(id.indexOf(':') + 1));
        assertThat(j).as("in order from sender %d", sender).isGreaterThan(lastOfSender.getOrDefault(sender, 0));
        lastOfSender.put(sender, j);
      }
    }
    assertThat(seen).hasSize(senders * perSender);
  }

  @Test
  void eachMessageOfOneBatchIsToldItsOwnOutcome(@TempDir Path dir) throws Exception {
    RedisClusterStore store = store(dir, 5, false);
    store.create("full", "sid-full", "full").toCompletableFuture().get(5, TimeUnit.SECONDS);
    store.create("ok", "sid-ok", "ok").toCompletableFuture().get(5, TimeUnit.SECONDS);
    Origin o = new Origin("s", 0);
    List<CompletableFuture<Delivery>> toFull = new ArrayList<>();
    List<CompletableFuture<Delivery>> toOk = new ArrayList<>();
    pause();
    for (int j = 1; j <= 7; j++) {
      toFull.add(store.deliver("full", message("f" + j), new Origin(o.sessionId(), j)).toCompletableFuture());
      if (j <= 3) {
        toOk.add(store.deliver("ok", message("o" + j), new Origin(o.sessionId(), j)).toCompletableFuture());
      }
    }
    CompletableFuture<Delivery> ghost = store.deliver("ghost", message("g"), Origin.NONE).toCompletableFuture();
    CompletableFuture<Delivery> replayed = store.deliver("full", message("f2"), new Origin("s", 2)).toCompletableFuture();
    CompletableFuture<Delivery> backend = store.deliver("ok", message("b"), Origin.NONE).toCompletableFuture();
    unpause();
    List<Long> full = new ArrayList<>();
    for (CompletableFuture<Delivery> f : toFull) {
      full.add(f.get(10, TimeUnit.SECONDS).seq());
    }
    // The log holds 5: the 6th and 7th are refused, and the session is marked as having lost them.
    assertThat(full).containsExactly(1L, 2L, 3L, 4L, 5L, Delivery.FULL, Delivery.FULL);
    assertThat(toOk.stream().map(f -> f.join().seq()).toList()).containsExactly(1L, 2L, 3L);
    assertThat(ghost.get(10, TimeUnit.SECONDS).seq()).isEqualTo(Delivery.NO_SESSION);
    assertThat(replayed.get(10, TimeUnit.SECONDS).seq()).isEqualTo(Delivery.DUPLICATE);
    assertThat(backend.get(10, TimeUnit.SECONDS).seq()).isEqualTo(4L); // no origin: never a duplicate
    assertThat(store.entriesAfter("ok", 0, 10).toCompletableFuture().get().stream().map(BatchedDeliveryTest::text))
        .containsExactly("o1", "o2", "o3", "b");
  }

  @Test
  void connectionsKilledMidBatchTellEveryMessageItsOutcomeAndStoreNoneTwice(@TempDir Path dir) throws Exception {
    RedisClusterStore store = store(dir, 100_000, false);
    for (int r = 0; r < 3; r++) {
      store.create("r" + r, "sid-r" + r, "r" + r).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
    int n = 3_000;
    List<CompletableFuture<Delivery>> sent = new ArrayList<>();
    pause();
    for (int j = 1; j <= n; j++) {
      sent.add(store.deliver("r" + (j % 3), message("m" + j), new Origin("s", j)).toCompletableFuture());
    }
    // Every connection but this one, the store's among them, with calls unanswered and more waiting.
    long killed = admin.clientKill(KillArgs.Builder.typeNormal().skipme());
    assertThat(killed).isPositive();
    unpause();
    Map<String, Long> told = new HashMap<>();
    int failed = 0;
    for (int j = 1; j <= n; j++) {
      try {
        told.put("m" + j, sent.get(j - 1).get(20, TimeUnit.SECONDS).seq());
      } catch (java.util.concurrent.ExecutionException e) {
        failed++; // told: not stored, or not known to be
      }
    }
    assertThat(failed).as("calls cut by the kill").isPositive();
    // After the store reconnects, a message goes through again.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).ignoreExceptions().until(() ->
        store.deliver("r0", message("after"), new Origin("s", n + 1)).toCompletableFuture().get(2, TimeUnit.SECONDS)
            .seq() > 0);
    Set<String> stored = new HashSet<>();
    for (int r = 0; r < 3; r++) {
      long previous = 0;
      for (Entry e : store.entriesAfter("r" + r, 0, 100_000).toCompletableFuture().get(5, TimeUnit.SECONDS)) {
        String id = text(e);
        assertThat(stored.add(id)).as("stored once: %s", id).isTrue();
        if (!id.equals("after")) {
          int j = Integer.parseInt(id.substring(1));
          assertThat(j).as("in send order").isGreaterThan((int) previous);
          previous = j;
        }
        if (told.containsKey(id)) {
          assertThat(told.get(id)).as("told its number: %s", id).isEqualTo(e.seq());
        }
      }
    }
    // Nothing a sender was told is stored is missing.
    for (Map.Entry<String, Long> t : told.entrySet()) {
      if (t.getValue() > 0) {
        assertThat(stored).as("told stored").contains(t.getKey());
      }
    }
  }

  @Test
  void aRedisThatLostItsScriptsRefusesOnceThenTheyAreLoadedAgain(@TempDir Path dir) throws Exception {
    RedisClusterStore store = store(dir, 100_000, true);
    store.create("r", "sid-r", "r").toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(store.deliver("r", message("before"), new Origin("s", 1)).toCompletableFuture().get(5, TimeUnit.SECONDS)
        .seq()).isEqualTo(1);
    admin.scriptFlush();
    CompletableFuture<Delivery> refused = store.deliver("r", message("lost-script"), new Origin("s", 2))
        .toCompletableFuture();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> refused.get(5, TimeUnit.SECONDS))
        .hasMessageContaining("NOSCRIPT");
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).ignoreExceptions().until(() ->
        store.deliver("r", message("again"), new Origin("s", 3)).toCompletableFuture().get(2, TimeUnit.SECONDS)
            .seq() > 0);
    assertThat(store.entriesAfter("r", 0, 10).toCompletableFuture().get().stream().map(BatchedDeliveryTest::text))
        .containsExactly("before", "again");
  }
}
