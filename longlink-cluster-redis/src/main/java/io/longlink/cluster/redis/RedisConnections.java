package io.longlink.cluster.redis;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.codec.RedisCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Lettuce clients for the URIs longlink accepts: {@code redis://host:port[?timeout=..]} (one Redis)
 * or {@code redis-cluster://host:port[,host:port...]} (Redis Cluster seed nodes). Commands time
 * out after 2 s unless the URI says otherwise. One Redis rejects commands at once while
 * disconnected; a cluster client waits (within the timeout) for a master's connection to open, and
 * follows topology changes.
 */
final class RedisConnections {
  static final String CLUSTER_SCHEME = "redis-cluster://";

  private RedisConnections() {}

  static AbstractRedisClient client(String uri) {
    if (uri.startsWith(CLUSTER_SCHEME)) {
      List<RedisURI> seeds = new ArrayList<>();
      for (String hostPort : uri.substring(CLUSTER_SCHEME.length()).split(",")) {
        seeds.add(withTimeout(RedisURI.create("redis://" + hostPort), uri));
      }
      RedisClusterClient c = RedisClusterClient.create(seeds);
      c.setOptions(ClusterClientOptions.builder()
          .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
              .enableAllAdaptiveRefreshTriggers().enablePeriodicRefresh(Duration.ofSeconds(30)).build())
          .build());
      return c;
    }
    RedisClient c = RedisClient.create(withTimeout(RedisURI.create(uri), uri));
    c.setOptions(ClientOptions.builder().disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS).build());
    return c;
  }

  private static RedisURI withTimeout(RedisURI u, String given) {
    if (!given.contains("timeout=")) {
      u.setTimeout(Duration.ofSeconds(2));
    }
    return u;
  }

  static <K, V> StatefulConnection<K, V> connect(AbstractRedisClient client, RedisCodec<K, V> codec) {
    return client instanceof RedisClusterClient c ? c.connect(codec) : ((RedisClient) client).connect(codec);
  }

  static <K, V> RedisClusterAsyncCommands<K, V> async(StatefulConnection<K, V> connection) {
    return connection instanceof StatefulRedisClusterConnection<K, V> c ? c.async()
        : ((StatefulRedisConnection<K, V>) connection).async();
  }

  static <K, V> RedisClusterCommands<K, V> sync(StatefulConnection<K, V> connection) {
    return connection instanceof StatefulRedisClusterConnection<K, V> c ? c.sync()
        : ((StatefulRedisConnection<K, V>) connection).sync();
  }
}
