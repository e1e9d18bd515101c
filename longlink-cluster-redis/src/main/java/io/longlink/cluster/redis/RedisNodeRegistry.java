package io.longlink.cluster.redis;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.Range;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.longlink.server.spi.NodeInfo;
import io.longlink.server.spi.NodeRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The cluster's node registry in Redis: a sorted set of node ids scored by when their
 * announcement runs out, and a hash of their descriptions. Times are Redis's own clock
 * ({@code TIME}), so the nodes' clocks need not agree. Both keys carry the hash tag
 * {@code {<cluster>:nodes}}: one slot, so it works on Redis Cluster too. Expired entries are
 * removed by whoever lists the nodes next.
 *
 * <p>Thread-safe (one Lettuce connection, which is); every command times out after the URI's
 * timeout instead of hanging.
 */
public final class RedisNodeRegistry implements NodeRegistry {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final io.lettuce.core.AbstractRedisClient client;
  private final StatefulConnection<String, String> connection;
  private final RedisClusterCommands<String, String> redis;
  private final Duration ttl;
  private final String aliveKey;
  private final String infoKey;

  private RedisNodeRegistry(io.lettuce.core.AbstractRedisClient client, StatefulConnection<String, String> connection,
      RedisClusterCommands<String, String> redis, Duration ttl, String cluster) {
    this.client = client;
    this.connection = connection;
    this.redis = redis;
    this.ttl = ttl;
    this.aliveKey = cluster + ":{" + cluster + ":nodes}:alive";
    this.infoKey = cluster + ":{" + cluster + ":nodes}:info";
  }

  /**
   * Connects to {@code uri} (e.g. {@code redis://127.0.0.1:6379}, or
   * {@code redis-cluster://HOST:PORT[,HOST:PORT...]} for Redis Cluster; commands time out after 2 s
   * unless the URI says otherwise).
   *
   * @param cluster names the cluster (key prefix): clusters can share one Redis
   * @param ttl how long an announcement lasts
   */
  public static RedisNodeRegistry connect(String uri, String cluster, Duration ttl) {
    Objects.requireNonNull(cluster, "cluster");
    if (ttl.isNegative() || ttl.compareTo(Duration.ofMillis(300)) < 0) {
      throw new IllegalArgumentException("ttl: " + ttl + " (expected: >= 300 ms)");
    }
    io.lettuce.core.AbstractRedisClient client = RedisConnections.client(uri);
    try {
      StatefulConnection<String, String> conn = RedisConnections.connect(client, io.lettuce.core.codec.StringCodec.UTF8);
      return new RedisNodeRegistry(client, conn, RedisConnections.sync(conn), ttl, cluster);
    } catch (RuntimeException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
      throw e;
    }
  }

  @Override
  public void announce(NodeInfo self) {
    String json;
    try {
      json = JSON.writeValueAsString(self);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    long until = redisMillis() + ttl.toMillis();
    redis.hset(infoKey, self.id(), json);
    redis.zadd(aliveKey, until, self.id());
  }

  @Override
  public void withdraw(String nodeId) {
    redis.zrem(aliveKey, nodeId);
    redis.hdel(infoKey, nodeId);
  }

  @Override
  public List<NodeInfo> liveNodes() {
    long now = redisMillis();
    List<String> expired = redis.zrangebyscore(aliveKey, Range.create(Double.NEGATIVE_INFINITY, (double) now));
    if (!expired.isEmpty()) {
      String[] ids = expired.toArray(String[]::new);
      redis.zrem(aliveKey, ids);
      redis.hdel(infoKey, ids);
    }
    List<String> ids = redis.zrangebyscore(aliveKey, Range.create((double) now, Double.POSITIVE_INFINITY));
    List<NodeInfo> out = new ArrayList<>(ids.size());
    if (ids.isEmpty()) {
      return out;
    }
    for (var kv : redis.hmget(infoKey, ids.toArray(String[]::new))) {
      if (kv.hasValue()) {
        try {
          out.add(JSON.readValue(kv.getValue(), NodeInfo.class));
        } catch (JsonProcessingException e) {
          // a node of another version wrote something else: not ours to judge, skip it
        }
      }
    }
    return out;
  }

  @Override
  public Duration timeToLive() {
    return ttl;
  }

  /** Redis's clock, in Unix milliseconds: one clock for every node. */
  private long redisMillis() {
    List<String> t = redis.time();
    return Long.parseLong(t.get(0)) * 1000 + Long.parseLong(t.get(1)) / 1000;
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
