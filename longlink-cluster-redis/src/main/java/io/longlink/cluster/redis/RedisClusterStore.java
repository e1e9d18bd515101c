package io.longlink.cluster.redis;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.longlink.protocol.TargetKind;
import io.longlink.server.DevicePresence;
import io.longlink.server.spi.ClusterStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster store on Redis (standalone, or Redis Cluster: every key of a session shares its
 * hash tag {@code {<clientId>}}, every key of a node {@code {<nodeId>}}).
 *
 * <ul>
 *   <li>A session: a hash, a stream of its messages (IDs = their seq), a set of topics and a
 *       hash of the last seq delivered per origin, all changed by Lua scripts ({@link Scripts}) that
 *       check the fencing epoch. Delivering to a client appends to its stream: what a sender is
 *       told was delivered is in Redis, not in a pub/sub message that a disconnected node would
 *       miss.
 *   <li>A node: one stream of notes for it (consumer group, read by the node): "wake" (messages
 *       appended for a session it owns), "overflowed" (the log of a session it owns is full),
 *       "moved" (a session it had went elsewhere) and topic
 *       messages for its subscribers. A node that was away reads what it missed; topic messages
 *       are acknowledged only after they are stored in the subscribers' logs.
 *   <li>A topic: the set of nodes with subscribers.
 * </ul>
 *
 * <p>Commands are asynchronous and pipelined (Lettuce: one connection, or one per master of a
 * Redis Cluster), and time out after the URI's timeout (default 2 s); on a single Redis they fail
 * at once while it is unreachable (no queueing).
 */
public final class RedisClusterStore implements ClusterStore {
  private static final Logger log = LoggerFactory.getLogger(RedisClusterStore.class);
  private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);
  private static final String GROUP = "longlink";
  private static final int NODE_QUEUE_MAX = 1_000_000;
  /** Messages per delivery script call: bounds how long one call holds Redis. */
  static final int DELIVER_BATCH = 256;
  /** Counter writes (received counters, log trims) per script call. */
  static final int COUNTERS_BATCH = 256;
  /** Principals per device-list script call. */
  static final int DEVICES_BATCH = 128;
  /** Unanswered calls per batcher before items wait for the next call. */
  static final int IN_FLIGHT = 2;

  private final AbstractRedisClient client;
  private final StatefulConnection<String, byte[]> connection;
  private final RedisClusterAsyncCommands<String, byte[]> redis;
  /** Blocking reads of this node's queue: a connection of their own. */
  private final StatefulConnection<String, byte[]> readerConnection;
  private final RedisClusterCommands<String, byte[]> reader;
  private final String prefix;
  private final int maxLogMessages;
  /** One batcher per Redis Cluster slot (a script's keys must share one), one in all on a single Redis. */
  private final boolean slotted;
  private final LuaScripts scripts;
  private final AtomicReferenceArray<Batcher<Delivering, CompletableFuture<Delivery>>> deliveries;
  private final AtomicReferenceArray<Batcher<String, List<String>>> deviceLists;
  private final AtomicReferenceArray<Batcher<Counting, Long>> counters;
  private final Supplier<Batcher<Delivering, CompletableFuture<Delivery>>> newDeliveryBatcher =
      () -> new Batcher<>(DELIVER_BATCH, IN_FLIGHT, this::deliverBatch);
  private final Supplier<Batcher<String, List<String>>> newDevicesBatcher =
      () -> new Batcher<>(DEVICES_BATCH, IN_FLIGHT, this::devicesBatch);
  private final Supplier<Batcher<Counting, Long>> newCountersBatcher =
      () -> new Batcher<>(COUNTERS_BATCH, IN_FLIGHT, this::countersBatch);
  private volatile boolean closed;
  private Thread readerThread;

  private RedisClusterStore(AbstractRedisClient client, StatefulConnection<String, byte[]> connection,
      RedisClusterAsyncCommands<String, byte[]> redis, StatefulConnection<String, byte[]> readerConnection,
      RedisClusterCommands<String, byte[]> reader, String cluster, int maxLogMessages) {
    this.client = client;
    this.connection = connection;
    this.redis = redis;
    this.readerConnection = readerConnection;
    this.reader = reader;
    this.prefix = cluster + ":";
    this.maxLogMessages = maxLogMessages;
    this.slotted = client instanceof RedisClusterClient;
    this.scripts = new LuaScripts(redis, java.util.stream.Stream.concat(Scripts.ALL.stream(), DeviceScripts.ALL.stream())
        .toList(), () -> {
          Listener l = listener;
          if (l != null) {
            l.availability(true, "");
          }
        });
    int batchers = slotted ? SlotHash.SLOT_COUNT : 1;
    this.deliveries = new AtomicReferenceArray<>(batchers);
    this.deviceLists = new AtomicReferenceArray<>(batchers);
    this.counters = new AtomicReferenceArray<>(batchers);
  }

  /**
   * The batcher of the slot of hash tag {@code tag} (a session's client id, a principal), made when
   * first needed. On a single Redis there is one, and no key is formatted to find it.
   */
  private <T, R> Batcher<T, R> batcher(AtomicReferenceArray<Batcher<T, R>> all, String tag,
      Supplier<Batcher<T, R>> make) {
    int slot = slotted ? SlotHash.getSlot("{" + tag + "}") : 0;
    Batcher<T, R> b = all.get(slot);
    if (b == null) {
      all.compareAndSet(slot, null, make.get());
      b = all.get(slot);
    }
    return b;
  }

  /**
   * Connects to {@code uri}: {@code redis://host:port} for a single Redis, or
   * {@code redis-cluster://host:port[,host:port...]} for Redis Cluster (seed nodes).
   *
   * @param cluster names the cluster (key prefix): clusters can share one Redis
   * @param maxLogMessages bound of each session's message log (the node's replay buffer size)
   */
  public static RedisClusterStore connect(String uri, String cluster, int maxLogMessages) {
    if (maxLogMessages < 1) {
      throw new IllegalArgumentException("maxLogMessages: " + maxLogMessages + " (expected: >= 1)");
    }
    AbstractRedisClient client = RedisConnections.client(uri);
    try {
      var main = RedisConnections.connect(client, CODEC);
      var blocking = RedisConnections.connect(client, CODEC);
      blocking.setTimeout(Duration.ofSeconds(10));
      RedisClusterStore store = new RedisClusterStore(client, main, RedisConnections.async(main), blocking,
          RedisConnections.sync(blocking), cluster, maxLogMessages);
      store.scripts.loadAll(Duration.ofSeconds(10));
      return store;
    } catch (RuntimeException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
      throw e;
    }
  }

  // ---- keys ----

  private String[] sessionKeys(String clientId) {
    String base = prefix + "s:{" + clientId + "}:";
    return new String[] {base + "m", base + "l", base + "t", base + "d"};
  }

  private String[] deviceKeys(String principal) {
    String base = prefix + "u:{" + principal + "}:";
    return new String[] {base + "z", base + "h"};
  }

  /** The base of every presence key: one hash tag for all (see {@link DeviceScripts}). */
  private String[] presenceBase() {
    return new String[] {prefix + "{" + prefix + "presence}:"};
  }

  private String nodeQueue(String nodeId) {
    return prefix + "n:{" + nodeId + "}:q";
  }

  private String topicNodes(String topic) {
    return prefix + "t:{" + topic + "}";
  }

  // ---- scripts ----

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] b(long n) {
    return b(Long.toString(n));
  }

  private static String str(Object o) {
    return o == null ? "" : o instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : o.toString();
  }

  private static long num(Object o) {
    return o instanceof Long l ? l : Long.parseLong(str(o));
  }

  /** Runs one of the store's scripts (by digest: see {@link LuaScripts}). */
  private <T> CompletableFuture<T> eval(String script, ScriptOutputType type, String[] keys, byte[]... args) {
    return scripts.run(script, type, keys, args);
  }

  /** An owner-only write: 1 done, 0 fenced, -1 gone from Redis (treated as unavailable: the node writes it back). */
  private CompletableFuture<Void> fenced(String what, String clientId, String script, String[] keys, byte[]... args) {
    return this.<Long>eval(script, ScriptOutputType.INTEGER, keys, args).thenApply(r -> fenceOutcome(what, clientId, r));
  }

  private static Void fenceOutcome(String what, String clientId, long r) {
    if (r == 0) {
      throw new FencedException(what + " of client " + clientId + ": the session moved to another node");
    }
    if (r < 0) {
      throw new IllegalStateException(what + " of client " + clientId + ": the session is not in Redis");
    }
    return null;
  }

  // ---- ClusterStore ----

  private volatile String nodeId = "";
  private volatile Listener listener;
  private volatile long leaseMillis = 600_000;

  @Override
  public void start(String nodeId, long leaseMillis, Listener listener) {
    if (leaseMillis < 1) {
      throw new IllegalArgumentException("leaseMillis: " + leaseMillis + " (expected: >= 1)");
    }
    this.leaseMillis = leaseMillis;
    this.nodeId = nodeId;
    this.listener = listener;
    readerThread = new Thread(this::readQueue, "longlink-cluster-queue");
    readerThread.setDaemon(true);
    readerThread.start();
  }

  @Override
  public CompletionStage<Created> create(String clientId, String sessionId, String subject) {
    return this.<List<Object>>eval(Scripts.CREATE, ScriptOutputType.MULTI, sessionKeys(clientId), b(sessionId),
        b(subject), b(nodeId), b(leaseMillis)).thenApply(r -> {
          Created c = new Created(num(r.get(0)), str(r.get(1)), str(r.get(2)));
          if (!c.replacedOwner().isEmpty() && !c.replacedOwner().equals(nodeId)) {
            note(c.replacedOwner(), Map.of("m", b(clientId), "s", b(c.replacedSessionId())));
          }
          return c;
        });
  }

  @Override
  public CompletionStage<Snapshot> claim(String clientId, String sessionId) {
    return this.<List<Object>>eval(Scripts.CLAIM, ScriptOutputType.MULTI, sessionKeys(clientId), b(sessionId), b(nodeId),
        b(leaseMillis))
        .thenApply(r -> {
          if (r.isEmpty()) {
            return null;
          }
          String previous = str(r.get(2));
          List<Entry> entries = new ArrayList<>();
          for (Object e : (List<?>) r.get(6)) {
            List<?> idAndFields = (List<?>) e;
            entries.add(new Entry(seqOf(str(idAndFields.get(0))), message((List<?>) idAndFields.get(1))));
          }
          Set<String> topics = new HashSet<>();
          for (Object t : (List<?>) r.get(7)) {
            topics.add(str(t));
          }
          if (!previous.isEmpty() && !previous.equals(nodeId)) {
            note(previous, Map.of("m", b(clientId), "s", b(sessionId)));
          }
          return new Snapshot(str(r.get(1)), num(r.get(0)), previous, num(r.get(3)), num(r.get(4)),
              "1".equals(str(r.get(5))), entries, topics);
        });
  }

  private static long seqOf(String streamId) {
    return Long.parseLong(streamId.substring(0, streamId.indexOf('-')));
  }

  /** A stream entry's flat field list (f from k kind t target p payload) as a message. */
  private static Message message(List<?> fields) {
    String from = "";
    String target = "";
    TargetKind kind = TargetKind.CLIENT;
    byte[] payload = new byte[0];
    for (int i = 0; i + 1 < fields.size(); i += 2) {
      String name = str(fields.get(i));
      Object v = fields.get(i + 1);
      switch (name) {
        case "f" -> from = str(v);
        case "k" -> kind = TargetKind.valueOf(str(v));
        case "t" -> target = str(v);
        case "p" -> payload = v instanceof byte[] bytes ? bytes : b(str(v));
        default -> { }
      }
    }
    return new Message(from, kind, target, payload);
  }

  private static Message message(Map<String, byte[]> body) {
    return new Message(str(body.get("f")), TargetKind.valueOf(str(body.get("k"))), str(body.get("t")),
        body.getOrDefault("p", new byte[0]));
  }

  /**
   * Batched (see {@link Batcher}): messages to sessions of one slot that arrive while calls are
   * unanswered share the next script call, which appends them in order. Each owner node other than
   * this one gets one wake note per session and call, written before those deliveries complete
   * (the next call does not wait for it).
   */
  @Override
  public CompletionStage<Delivery> deliver(String clientId, Message m, Origin origin) {
    return batcher(deliveries, clientId, newDeliveryBatcher).add(new Delivering(clientId, m, origin))
        .thenCompose(d -> d);
  }

  /** A message waiting for its delivery call. */
  private record Delivering(String clientId, Message message, Origin origin) {}

  private CompletableFuture<List<CompletableFuture<Delivery>>> deliverBatch(List<Delivering> batch) {
    Map<String, Integer> sessionIndex = new LinkedHashMap<>();
    List<String> keys = new ArrayList<>();
    List<byte[]> args = new ArrayList<>(1 + 7 * batch.size());
    args.add(b(maxLogMessages));
    for (Delivering d : batch) {
      Integer index = sessionIndex.get(d.clientId());
      if (index == null) {
        index = sessionIndex.size() + 1;
        sessionIndex.put(d.clientId(), index);
        String[] k = sessionKeys(d.clientId());
        keys.add(k[0]);
        keys.add(k[1]);
        keys.add(k[3]);
      }
      Message m = d.message();
      args.add(b(index));
      args.add(b(m.from()));
      args.add(b(m.kind().name()));
      args.add(b(m.target()));
      args.add(m.payload());
      args.add(b(d.origin().sessionId()));
      args.add(b(d.origin().seq()));
    }
    return this.<List<Object>>eval(Scripts.DELIVER, ScriptOutputType.MULTI, keys.toArray(String[]::new),
        args.toArray(byte[][]::new)).thenApply(r -> {
          List<CompletableFuture<Delivery>> out = new ArrayList<>(batch.size());
          Map<String, CompletableFuture<String>> wakes = new LinkedHashMap<>();
          for (int i = 0; i < batch.size(); i++) {
            Delivery d = new Delivery(num(r.get(2 * i)), str(r.get(2 * i + 1)));
            boolean elsewhere = !d.owner().isEmpty() && !d.owner().equals(nodeId);
            String clientId = batch.get(i).clientId();
            if (elsewhere && (d.seq() > 0 || d.seq() == Delivery.DUPLICATE)) {
              // The owner learns through its queue; only then is the message on its way.
              CompletableFuture<String> note = wakes.computeIfAbsent(d.owner() + "\nw" + clientId,
                  k -> note(d.owner(), Map.of("w", b(clientId))));
              out.add(note.thenApply(id -> d));
            } else if (elsewhere && d.seq() == Delivery.FULL) {
              // The owner's client is losing messages: its owner tells it (the slow-consumer policy).
              CompletableFuture<String> note = wakes.computeIfAbsent(d.owner() + "\no" + clientId,
                  k -> note(d.owner(), Map.of("full", b(clientId))));
              out.add(note.thenApply(id -> d));
            } else {
              out.add(CompletableFuture.completedFuture(d));
            }
          }
          return out;
        });
  }

  private CompletableFuture<String> note(String toNode, Map<String, byte[]> body) {
    return redis.xadd(nodeQueue(toNode), XAddArgs.Builder.maxlen(NODE_QUEUE_MAX).approximateTrimming(), body)
        .toCompletableFuture();
  }

  @Override
  public CompletionStage<Integer> publish(String topic, Message m, Origin origin) {
    return redis.smembers(topicNodes(topic)).toCompletableFuture().thenCompose(nodes -> {
      List<CompletableFuture<String>> sent = new ArrayList<>();
      for (byte[] node : nodes) {
        String n = str(node);
        if (!n.equals(nodeId)) {
          sent.add(note(n, Map.of("topic", b(topic), "f", b(m.from()), "k", b(m.kind().name()), "t", b(m.target()),
              "p", m.payload(), "o", b(origin.sessionId()), "n", b(origin.seq()))));
        }
      }
      return CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).thenApply(v -> sent.size());
    });
  }

  /** Batched with other sessions' counter writes of the slot (see {@link Scripts#COUNTERS}). */
  @Override
  public CompletionStage<Void> received(String clientId, long epoch, long seq) {
    return counter("received", clientId, "r", epoch, seq);
  }

  /** Batched with other sessions' counter writes of the slot (see {@link Scripts#COUNTERS}). */
  @Override
  public CompletionStage<Void> acknowledged(String clientId, long epoch, long seq) {
    return counter("acknowledged", clientId, "a", epoch, seq);
  }

  /** A counter write waiting for its call. */
  private record Counting(String clientId, String op, long epoch, long seq) {}

  private CompletableFuture<Void> counter(String what, String clientId, String op, long epoch, long seq) {
    return batcher(counters, clientId, newCountersBatcher).add(new Counting(clientId, op, epoch, seq))
        .thenApply(r -> fenceOutcome(what, clientId, r));
  }

  private CompletableFuture<List<Long>> countersBatch(List<Counting> batch) {
    String[] keys = new String[2 * batch.size()];
    byte[][] args = new byte[3 * batch.size()][];
    for (int i = 0; i < batch.size(); i++) {
      Counting c = batch.get(i);
      String[] k = sessionKeys(c.clientId());
      keys[2 * i] = k[0];
      keys[2 * i + 1] = k[1];
      args[3 * i] = b(c.op());
      args[3 * i + 1] = b(c.epoch());
      args[3 * i + 2] = b(c.seq());
    }
    return this.<List<Object>>eval(Scripts.COUNTERS, ScriptOutputType.MULTI, keys, args)
        .thenApply(r -> r.stream().map(RedisClusterStore::num).toList());
  }

  @Override
  public CompletionStage<Void> subscribe(String clientId, long epoch, String topic, boolean firstOnNode) {
    String[] k = sessionKeys(clientId);
    CompletableFuture<Void> session = fenced("subscribe", clientId, Scripts.SUBSCRIBE, new String[] {k[0], k[2]},
        b(epoch), b(topic));
    if (!firstOnNode) {
      return session;
    }
    return session.thenCombine(redis.sadd(topicNodes(topic), b(nodeId)).toCompletableFuture(), (a, c) -> null);
  }

  @Override
  public CompletionStage<Void> unsubscribe(String clientId, long epoch, String topic, boolean lastOnNode) {
    String[] k = sessionKeys(clientId);
    CompletableFuture<Void> session = fenced("unsubscribe", clientId, Scripts.UNSUBSCRIBE, new String[] {k[0], k[2]},
        b(epoch), b(topic));
    return lastOnNode ? session.thenCombine(leaveTopic(topic).toCompletableFuture(), (a, c) -> null) : session;
  }

  @Override
  public CompletionStage<Void> leaveTopic(String topic) {
    return redis.srem(topicNodes(topic), b(nodeId)).toCompletableFuture().thenApply(n -> null);
  }

  @Override
  public CompletionStage<Void> keepFor(String clientId, long epoch, long millis) {
    return fenced("keepFor", clientId, Scripts.KEEP_FOR, sessionKeys(clientId), b(epoch), b(Math.max(1, millis)));
  }

  @Override
  public CompletionStage<Void> end(String clientId, long epoch) {
    return this.<Long>eval(Scripts.END, ScriptOutputType.INTEGER, sessionKeys(clientId), b(epoch)).thenApply(r -> {
      if (r == 0) {
        throw new FencedException("end of client " + clientId + ": the session moved to another node");
      }
      return null; // -1: already gone
    });
  }

  @Override
  public CompletionStage<List<Entry>> entriesAfter(String clientId, long seq, int max) {
    return redis.xrange(sessionKeys(clientId)[1], Range.create((seq + 1) + "-0", "+"), Limit.create(0, max))
        .toCompletableFuture().thenApply(list -> {
          List<Entry> out = new ArrayList<>(list.size());
          for (StreamMessage<String, byte[]> m : list) {
            out.add(new Entry(seqOf(m.getId()), message(m.getBody())));
          }
          return out;
        });
  }

  @Override
  public CompletionStage<Restored> restore(String clientId, String sessionId, long epoch, long knownSeq, Snapshot s) {
    List<byte[]> args = new ArrayList<>();
    args.add(b(sessionId));
    args.add(b(epoch));
    args.add(b(knownSeq));
    args.add(b(s.subject()));
    args.add(b(nodeId));
    args.add(b(s.lastSentSeq()));
    args.add(b(s.lastReceivedSeq()));
    args.add(b(s.lost() ? 1 : 0));
    args.add(b(leaseMillis));
    args.add(b(s.topics().size()));
    for (String t : s.topics()) {
      args.add(b(t));
    }
    for (Entry e : s.entries()) {
      Message m = e.message();
      args.add(b(e.seq()));
      args.add(b(m.from()));
      args.add(b(m.kind().name()));
      args.add(b(m.target()));
      args.add(m.payload());
    }
    return this.<List<Object>>eval(Scripts.RESTORE, ScriptOutputType.MULTI, sessionKeys(clientId),
        args.toArray(byte[][]::new)).thenApply(r -> {
          if (r.size() == 1) {
            throw new FencedException("restore of client " + clientId + ": the session moved to another node");
          }
          List<Entry> renumbered = new ArrayList<>();
          for (Object o : (List<?>) r.get(1)) {
            List<?> seqAndFields = (List<?>) o;
            renumbered.add(new Entry(num(seqAndFields.get(0)), message((List<?>) seqAndFields.get(1))));
          }
          return new Restored(num(r.get(0)), renumbered);
        });
  }

  // ---- devices and presence ----

  /**
   * Batched like {@link #deliver}: every lookup is answered by a call issued after it was asked,
   * so a device listed before a message arrived is never missed by it.
   */
  @Override
  public CompletionStage<List<String>> devices(String principal) {
    return batcher(deviceLists, principal, newDevicesBatcher).add(principal);
  }

  private CompletableFuture<List<List<String>>> devicesBatch(List<String> principals) {
    String[] keys = new String[2 * principals.size()];
    for (int i = 0; i < principals.size(); i++) {
      String[] k = deviceKeys(principals.get(i));
      keys[2 * i] = k[0];
      keys[2 * i + 1] = k[1];
    }
    return this.<List<Object>>eval(DeviceScripts.DEVICES, ScriptOutputType.MULTI, keys).thenApply(r -> {
      List<List<String>> out = new ArrayList<>(r.size());
      for (Object list : r) {
        out.add(((List<?>) list).stream().map(RedisClusterStore::str).toList());
      }
      return out;
    });
  }

  @Override
  public CompletionStage<DeviceCount> countDevices(String principal, String key) {
    return this.<List<Object>>eval(DeviceScripts.COUNT, ScriptOutputType.MULTI, deviceKeys(principal), b(key))
        .thenApply(r -> new DeviceCount((int) num(r.get(0)), str(r.get(1))));
  }

  @Override
  public CompletionStage<Void> keepDevice(String principal, String key, long sinceMillis, long millis) {
    return this.<Long>eval(DeviceScripts.KEEP, ScriptOutputType.INTEGER, deviceKeys(principal), b(key), b(sinceMillis),
        b(millis)).thenApply(r -> null);
  }

  @Override
  public CompletionStage<Void> removeDevice(String principal, String key) {
    return this.<Long>eval(DeviceScripts.REMOVE, ScriptOutputType.INTEGER, deviceKeys(principal), b(key))
        .thenApply(r -> null);
  }

  @Override
  public CompletionStage<Evicted> evict(String key) {
    return this.<List<Object>>eval(DeviceScripts.EVICT, ScriptOutputType.MULTI, sessionKeys(key)).thenCompose(r -> {
      if (r.isEmpty()) {
        return CompletableFuture.completedFuture(null);
      }
      Evicted e = new Evicted(str(r.get(0)), str(r.get(1)));
      if (e.owner().isEmpty()) {
        return CompletableFuture.completedFuture(e);
      }
      return note(e.owner(), Map.of("m", b(key), "s", b(e.sessionId()))).thenApply(id -> e);
    });
  }

  @Override
  public CompletionStage<Boolean> online(DevicePresence p, long leaseMillis) {
    return this.<Long>eval(DeviceScripts.ONLINE, ScriptOutputType.INTEGER, presenceBase(), b(p.principal()),
        b(p.deviceId()), b(p.sessionId()), b(p.node()), b(p.since().toEpochMilli()), b(leaseMillis), b(p.clientId()))
        .thenApply(r -> r == 1);
  }

  @Override
  public CompletionStage<Boolean> offline(String principal, String deviceId, String sessionId, String node) {
    return this.<Long>eval(DeviceScripts.OFFLINE, ScriptOutputType.INTEGER, presenceBase(), b(principal), b(deviceId),
        b(sessionId), b(node)).thenApply(r -> r == 1);
  }

  @Override
  public CompletionStage<List<DevicePresence>> presence(String principal) {
    return redis.hgetall(presenceBase()[0] + "u:" + principal).toCompletableFuture().thenApply(all -> {
      List<DevicePresence> out = new ArrayList<>(all.size());
      all.forEach((device, v) -> out.add(presenceOf(principal, device, str(v))));
      out.sort(java.util.Comparator.comparing(DevicePresence::deviceId));
      return out;
    });
  }

  /** A presence entry's value: {@code sessionId|node|since|clientId}. */
  private static DevicePresence presenceOf(String principal, String device, String value) {
    String[] f = value.split("\\|", 4);
    return new DevicePresence(principal, device, f[3], f[0], f[1], java.time.Instant.ofEpochMilli(Long.parseLong(f[2])));
  }

  @Override
  public CompletionStage<List<DevicePresence>> renewPresence(String nodeId, long leaseMillis) {
    return this.<List<Object>>eval(DeviceScripts.RENEW, ScriptOutputType.MULTI, presenceBase(), b(nodeId),
        b(leaseMillis)).thenApply(r -> {
          List<DevicePresence> out = new ArrayList<>(r.size() / 3);
          for (int i = 0; i + 2 < r.size(); i += 3) {
            out.add(presenceOf(str(r.get(i)), str(r.get(i + 1)), str(r.get(i + 2))));
          }
          return out;
        });
  }

  @Override
  public CompletionStage<PresenceTotals> presenceTotals() {
    String base = presenceBase()[0];
    CompletableFuture<Long> users = redis.hlen(base + "users").toCompletableFuture();
    CompletableFuture<byte[]> sessions = redis.get(base + "sessions").toCompletableFuture();
    return users.thenCombine(sessions, (u, n) -> new PresenceTotals(n == null ? 0 : Math.max(0, num(n)), u));
  }

  // ---- this node's queue ----

  /**
   * Reads this node's queue until closed: what it missed while away first (its pending entries),
   * then new ones. Wake-ups and moves are handled at once; topic messages are acknowledged when
   * stored in the subscribers' logs, so a batch that could not be stored is read again.
   */
  private void readQueue() {
    String key = nodeQueue(nodeId);
    boolean pending = true;
    boolean groupReady = false;
    boolean up = true;
    long backoffMillis = 100;
    while (!closed) {
      try {
        if (!groupReady) {
          try {
            reader.xgroupCreate(XReadArgs.StreamOffset.from(key, "0"), GROUP, XGroupCreateArgs.Builder.mkstream());
          } catch (io.lettuce.core.RedisBusyException exists) {
            // created before
          }
          groupReady = true;
        }
        List<StreamMessage<String, byte[]>> batch = reader.xreadgroup(Consumer.from(GROUP, nodeId),
            XReadArgs.Builder.count(256).block(pending ? 1 : 1000),
            pending ? XReadArgs.StreamOffset.from(key, "0") : XReadArgs.StreamOffset.lastConsumed(key));
        if (!up) {
          up = true;
          backoffMillis = 100;
          listener.availability(true, "");
        }
        if (pending && batch.isEmpty()) {
          pending = false;
          continue;
        }
        if (!handle(key, batch)) {
          pending = true; // some topic messages could not be stored: read them again
          pause(backoffMillis);
        }
      } catch (RuntimeException e) {
        if (closed) {
          return;
        }
        if (String.valueOf(e.getMessage()).contains("NOGROUP")) {
          groupReady = false; // Redis lost the queue (restarted without persistence)
        }
        pending = true;
        if (up) {
          up = false;
          log.warn("cannot read this node's cluster queue: {}", e.toString());
          listener.availability(false, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        pause(backoffMillis);
        backoffMillis = Math.min(2_000, backoffMillis * 2);
      }
    }
  }

  private boolean handle(String key, List<StreamMessage<String, byte[]>> batch) {
    List<String> done = new ArrayList<>();
    List<CompletableFuture<String>> topics = new ArrayList<>();
    for (StreamMessage<String, byte[]> m : batch) {
      Map<String, byte[]> body = m.getBody();
      if (body == null || body.isEmpty()) {
        done.add(m.getId()); // trimmed meanwhile
      } else if (body.containsKey("w")) {
        listener.wake(str(body.get("w")));
        done.add(m.getId());
      } else if (body.containsKey("m")) {
        listener.moved(str(body.get("m")), str(body.get("s")));
        done.add(m.getId());
      } else if (body.containsKey("full")) {
        listener.overflowed(str(body.get("full")));
        done.add(m.getId());
      } else if (body.containsKey("topic")) {
        CompletableFuture<String> stored = new CompletableFuture<>();
        topics.add(stored);
        Origin origin = new Origin(str(body.get("o")), num(body.get("n")));
        listener.topicMessage(str(body.get("topic")), message(body), origin, () -> stored.complete(m.getId()));
      } else {
        done.add(m.getId());
      }
    }
    boolean all = true;
    for (CompletableFuture<String> t : topics) {
      try {
        done.add(t.get(10, TimeUnit.SECONDS));
      } catch (Exception notStored) {
        all = false;
      }
    }
    if (!done.isEmpty()) {
      String[] ids = done.toArray(String[]::new);
      reader.xack(key, GROUP, ids);
      reader.xdel(key, ids);
    }
    return all;
  }

  private void pause(long millis) {
    try {
      Thread.sleep(millis); // the queue reader's own thread, backing off from an unreachable Redis
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  @Override
  public void close() {
    closed = true;
    if (readerThread != null) {
      readerThread.interrupt();
    }
    connection.close();
    readerConnection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
