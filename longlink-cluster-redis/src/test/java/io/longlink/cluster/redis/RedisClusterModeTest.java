package io.longlink.cluster.redis;

import java.nio.file.Path;

/**
 * The cluster scenarios of {@link ClusterTest} against a Redis Cluster of three masters: every
 * session's keys share one hash tag (one slot), so the scripts run there as on a single Redis,
 * while sessions, node queues and topics spread over the masters.
 */
class RedisClusterModeTest extends ClusterTest {
  @Override
  String redis(Path dir) throws Exception {
    RedisClusterProcess cluster = RedisClusterProcess.start(dir);
    open.add(cluster);
    return cluster.uri();
  }

  /** Restarting a whole Redis Cluster is not this test's subject; {@link ClusterTest} covers the outage. */
  @Override
  void redisOutageKeepsLocalDeliveryRejectsCrossNodeAndRecovers(Path dir) {}
}
