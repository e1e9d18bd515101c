package io.longlink.server.spi;

import java.util.List;

/**
 * Where the nodes of a cluster find each other (the embedded single-node default has none). A node
 * announces itself every third of the registry's time-to-live; a node that stops announcing (killed,
 * partitioned) drops out when that runs out; one that stops cleanly withdraws at once. Read by
 * {@code GET /v1/nodes} and by drain and load shedding, which send clients to the least-loaded
 * running node. Implementations (e.g. on Redis, module longlink-cluster-redis) are thread-safe and
 * may block briefly; they fail with an exception rather than hang.
 */
public interface NodeRegistry extends AutoCloseable {

  /** Adds or refreshes {@code self} for one time-to-live. */
  void announce(NodeInfo self);

  /** Removes the node at once (clean stop). */
  void withdraw(String nodeId);

  /** The nodes whose announcement has not run out, this one included. */
  List<NodeInfo> liveNodes();

  /** How long an announcement lasts; the node refreshes it every third of this. */
  java.time.Duration timeToLive();

  @Override
  void close();
}
