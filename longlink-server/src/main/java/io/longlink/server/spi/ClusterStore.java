package io.longlink.server.spi;

import io.longlink.protocol.TargetKind;
import io.longlink.server.DevicePresence;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The shared state of a cluster (module longlink-cluster-redis implements it on Redis): every
 * session's durable copy, which is also where messages for it are numbered, and the channels
 * between nodes. With it, a session can resume on any node and a message reaches a client wherever
 * it is connected. The embedded single-node default has none.
 *
 * <p>Each session's durable copy has an owner node and a fencing epoch. Writes only its owner may
 * make ({@link #received}, {@link #acknowledged}, {@link #subscribe}, …) carry the epoch the
 * owner got and fail with {@link FencedException} once the session has moved on (another node
 * claimed it, or the client logged in again): a node that is still half-alive after its session
 * moved can no longer change it.
 *
 * <p>Every method returns at once; results complete on the implementation's threads (never block
 * on them from an event loop). A failure other than {@link FencedException} means the store is
 * unavailable.
 */
public interface ClusterStore extends AutoCloseable {

  /** A message as it travels: sender ({@code ""}: the backend), target and payload. */
  record Message(String from, TargetKind kind, String target, byte[] payload) {}

  /** A numbered message of a session's log. */
  record Entry(long seq, Message message) {}

  /**
   * Where a message came from, so that delivering it twice (a sender replaying after its node died)
   * stores it once: the sending session and that session's sequence number. {@code NONE} for
   * backend messages.
   */
  record Origin(String sessionId, long seq) {
    public static final Origin NONE = new Origin("", 0);
  }

  /** What {@link #deliver} did: the message's number in the session, and the session's owner node. */
  record Delivery(long seq, String owner) {
    /** No session for that client id. */
    public static final long NO_SESSION = 0;
    /** Already delivered (same origin and seq). */
    public static final long DUPLICATE = -1;
    /** The session's log is full; the session has lost messages and cannot be resumed. */
    public static final long FULL = -2;
  }

  /** A session as its durable copy has it, for a node that takes it over. */
  record Snapshot(String subject, long epoch, String previousOwner, long lastSentSeq, long lastReceivedSeq,
      boolean lost, List<Entry> entries, Set<String> topics) {}

  /** What a new login found: this session's epoch, and the session it replaced (to be told it ended). */
  record Created(long epoch, String replacedOwner, String replacedSessionId) {}

  /** Calls from the store to this node; on the store's threads, must not block. */
  interface Listener {
    /** Messages were added to the log of {@code clientId}, whose owner this node is (or was). */
    void wake(String clientId);

    /** The session {@code sessionId} of {@code clientId} moved to another node or was replaced. */
    void moved(String clientId, String sessionId);

    /**
     * The log of {@code clientId}, whose owner this node is, is full: messages to it are being
     * refused (its client reads too slowly, or this node fell behind fetching), so its session is
     * losing messages and its client must be told.
     */
    void overflowed(String clientId);

    /**
     * A topic message from another node for this node's subscribers: deliver it, then run
     * {@code done} (until then the store keeps it, so a node that dies before finishing gets it
     * again).
     */
    void topicMessage(String topic, Message message, Origin origin, Runnable done);

    /** The store became reachable ({@code true}) or not; {@code why} says what failed. */
    void availability(boolean up, String why);
  }

  /**
   * Starts listening for this node ({@code nodeId}): wake-ups, moves and topic messages. Sessions
   * this node creates or claims are kept for {@code leaseMillis}, which the node renews (see
   * {@link #keepFor}) while it holds them: a node that dies leaves nothing behind for good.
   */
  void start(String nodeId, long leaseMillis, Listener listener);

  /** A new session for {@code clientId} owned by this node, replacing the client's previous one. */
  CompletionStage<Created> create(String clientId, String sessionId, String subject);

  /**
   * Moves the session to this node for a resume: a new epoch (the same one if this node owns it
   * already, so its writes under that epoch still on their way are not fenced), everything resume
   * needs. Completes with {@code null} if there is no session {@code sessionId} for {@code clientId}.
   */
  CompletionStage<Snapshot> claim(String clientId, String sessionId);

  /**
   * Appends a message to the log of {@code clientId}'s session, numbered there, unless the same
   * {@code origin} already delivered it; tells the owner node unless that is this node.
   */
  CompletionStage<Delivery> deliver(String clientId, Message message, Origin origin);

  /** Sends a topic message to the other nodes with subscribers; completes with how many nodes. */
  CompletionStage<Integer> publish(String topic, Message message, Origin origin);

  /** The session has processed the client's frames up to {@code seq}. */
  CompletionStage<Void> received(String clientId, long epoch, long seq);

  /** The client has the session's messages up to {@code seq}: drop them from the log. */
  CompletionStage<Void> acknowledged(String clientId, long epoch, long seq);

  /** The session subscribed to {@code topic}; {@code firstOnNode}: this node now has subscribers. */
  CompletionStage<Void> subscribe(String clientId, long epoch, String topic, boolean firstOnNode);

  /** The session unsubscribed; {@code lastOnNode}: this node has no subscribers left. */
  CompletionStage<Void> unsubscribe(String clientId, long epoch, String topic, boolean lastOnNode);

  /** This node has no subscribers to {@code topic} any more (its last one ended). */
  CompletionStage<Void> leaveTopic(String topic);

  /**
   * Keep the session for {@code millis} more, then forget it unless kept again: the owner's lease
   * while it holds the session, the retention once its client is away.
   */
  CompletionStage<Void> keepFor(String clientId, long epoch, long millis);

  /** The session ended. */
  CompletionStage<Void> end(String clientId, long epoch);

  /** The session's log after {@code seq}, at most {@code max} entries, in order. */
  CompletionStage<List<Entry>> entriesAfter(String clientId, long seq, int max);

  /**
   * Writes back a session this node kept while the store was unreachable (or lost its data): its
   * counters, buffered messages and topics. Messages the store numbered after {@code knownSeq}
   * (sent by other nodes meanwhile, unknown to this node) are renumbered after this node's and
   * returned. Keeps the epoch; fails with {@link FencedException} if the session moved meanwhile.
   *
   * @return the epoch (new if the store had lost the session) and the renumbered messages
   */
  CompletionStage<Restored> restore(String clientId, String sessionId, long epoch, long knownSeq, Snapshot state);

  /** What {@link #restore} did. */
  record Restored(long epoch, List<Entry> renumbered) {}

  // ---- devices and presence (protocol version 3) ----
  //
  // A device session's key is its client id, U+001F and its device id (no client id contains the
  // separator). A principal's device list and the cluster's presence are kept apart from the
  // sessions' keys: they are found by principal, not by session.

  /** The keys of {@code principal}'s device sessions (live or kept for resume) whose listing has not run out. */
  CompletionStage<List<String>> devices(String principal);

  /** {@code principal}'s listed device sessions other than {@code key}: how many, and the one listed first. */
  CompletionStage<DeviceCount> countDevices(String principal, String key);

  /** What {@link #countDevices} found; {@code oldestKey} empty when there are none. */
  record DeviceCount(int others, String oldestKey) {}

  /**
   * Lists device session {@code key} of {@code principal} for {@code millis} more (adding it, as of
   * {@code sinceMillis}, if new): renewed with the session's own lease and retention.
   */
  CompletionStage<Void> keepDevice(String principal, String key, long sinceMillis, long millis);

  /** The device session ended: no longer listed. */
  CompletionStage<Void> removeDevice(String principal, String key);

  /**
   * Ends session {@code key} wherever it is (its owner is told it moved, and lets go of it): the
   * per-user limit making room. Completes with what ended, or {@code null} if there was none.
   */
  CompletionStage<Evicted> evict(String key);

  /** What {@link #evict} ended: the session and the node that held it. */
  record Evicted(String sessionId, String owner) {}

  /**
   * Device {@code p} is online on {@code p.node()} (replacing what the cluster had for that device:
   * another session, or the same one on the node it came from). Also renews that node's presence
   * lease. Completes with true if the device was not online anywhere before: an online event is due.
   */
  CompletionStage<Boolean> online(DevicePresence p, long leaseMillis);

  /**
   * Device {@code deviceId} of {@code principal} is offline, if the cluster still has it as session
   * {@code sessionId} on {@code node}. Completes with true if it did: an offline event is due (exactly
   * one caller gets true per online).
   */
  CompletionStage<Boolean> offline(String principal, String deviceId, String sessionId, String node);

  /** The online devices of {@code principal}, on any node. */
  CompletionStage<List<DevicePresence>> presence(String principal);

  /**
   * Renews {@code nodeId}'s presence lease for {@code leaseMillis}, and takes the presence of every
   * node whose lease ran out (killed, partitioned): those devices are offline from now on, and only
   * one caller gets each. Completes with them.
   */
  CompletionStage<List<DevicePresence>> renewPresence(String nodeId, long leaseMillis);

  /** Online device sessions and users, cluster-wide. */
  CompletionStage<PresenceTotals> presenceTotals();

  /** What {@link #presenceTotals} counted. */
  record PresenceTotals(long sessions, long users) {}

  @Override
  void close();

  /** The session moved on: the node that tried the write no longer owns it. */
  final class FencedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FencedException(String message) {
      super(message);
    }
  }
}
