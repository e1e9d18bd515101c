package io.longlink.server.internal;

import io.longlink.server.spi.ClusterStore;
import java.util.concurrent.CompletableFuture;

/**
 * What a session of a cluster node tracks about its durable copy in the {@link ClusterStore}.
 * Exists only in a cluster (a single node's sessions carry none). Guarded by the session's
 * monitor.
 */
final class ClusterState {
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  /** The fencing epoch this node holds the session under. */
  long epoch;
  /**
   * The store could not be written: this node's copy is ahead and authoritative until it is
   * written back ({@link ClusterStore#restore}); meanwhile the session runs locally only.
   */
  boolean dirty;
  /** The last seq the store had numbered when the session went dirty. */
  long storeSeqAtDirty;

  /** Completes when every client frame accepted so far has its effects stored (or rejected). */
  CompletableFuture<Void> inboundTail = DONE;
  /** Client frames up to here have their effects stored. */
  long inboundDone;
  /** The ACK may cover up to here: effects and the received counter are stored. */
  long ackable;
  boolean receivedInFlight;
  /** Client frames accepted so far (their effects may still be on the way to the store). */
  long accepted;
  /** Reading from the client is paused: too many of its frames wait for the store. */
  boolean readingPaused;

  /** The client acknowledged up to here. */
  long trimWanted;
  /** The store's log is trimmed up to here. */
  long trimmed;
  boolean trimInFlight;

  boolean catchingUp;
  boolean wakeAgain;

  /**
   * This session as the origin of what it sends (its id), and of what it sends to topics: formatted
   * once, not per message.
   */
  final ClusterStore.Origin clientOrigin;
  final ClusterStore.Origin topicOrigin;

  ClusterState(String sessionId, long epoch, long ackable) {
    this.clientOrigin = new ClusterStore.Origin(sessionId, 0);
    this.topicOrigin = new ClusterStore.Origin(sessionId + "|t", 0);
    this.epoch = epoch;
    this.ackable = ackable;
    this.inboundDone = ackable;
  }
}
