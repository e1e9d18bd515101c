package io.longlink.server.internal;

import io.longlink.protocol.Frame;
import io.longlink.protocol.SeqBuffer;
import io.longlink.protocol.TargetKind;
import io.longlink.server.spi.ClusterStore;
import java.util.HashSet;
import java.util.Set;
import io.longlink.server.SessionInfo;

/**
 * One client's session: identity, both sequence counters, the unacknowledged server-to-client
 * messages (the replay buffer, which is also the outbound queue) and the subscriptions. Outlives
 * its connection: while detached it keeps buffering until resumed, expired or evicted.
 *
 * <p>Thread-safe: every mutable field is guarded by the session's monitor. Connections pull
 * messages from it on their own event loop; nothing here does I/O.
 */
final class Session {
  /** Lifecycle: ATTACHED ⇄ DETACHED → ENDED; ATTACHED → ENDED. ENDED is final. */
  enum State {
    /** A connection holds the session. */
    ATTACHED,
    /** No connection; kept for resume until its retention runs out. */
    DETACHED,
    /** Gone: closed by the client, replaced, expired or evicted. */
    ENDED
  }

  /** Verdict of {@link #acceptInbound}. */
  enum Inbound {
    NEW,
    DUPLICATE,
    GAP
  }

  /**
   * What the node finds the session by: the client id, or for a device (protocol version 3) the
   * client id, {@link #DEVICE_SEPARATOR} and the device id. No client id contains the separator (a
   * control character), so a device's key is never a client id another client could send to or log
   * in with. One string, not a device field: an idle session stays at 80 bytes.
   */
  final String key;
  final String subject;
  /** The 128-bit session id, inline: an id object would cost a header and a reference more. */
  private final long idHi;
  private final long idLo;

  private State state = State.ATTACHED;
  private Connection connection;
  /** The HELLO attempt stamp of the connection holding (or that last held) the session. */
  private long holderStamp;
  private long lastReceivedSeq;
  private long lastSentSeq;
  /** Allocated on the first buffered message: an idle session carries none. */
  private SeqBuffer<Outgoing> outbound;
  /**
   * Messages that could not be buffered (saturating): the session can no longer be resumed without a
   * gap. An int, not a long: with the cluster field the session stays at 80 bytes.
   */
  private int lostMessages;
  private Set<String> topics;
  /** The session's durable copy in a cluster; {@code null} on a single node. Guarded by {@code this}. */
  ClusterState shared;

  /**
   * How many messages and bytes a session may buffer, and what a full buffer does; one instance per
   * node.
   *
   * @param dropOldest drop the oldest buffered messages to make room (else the session stops
   *     buffering and its connection is cut as a slow consumer)
   * @param dropped where dropped messages are counted
   * @param buffered messages in all sessions' buffers of the node, kept up to date by the sessions
   * @param bufferedBytes the same in bytes (as {@link Outgoing#sizeOf} counts them)
   */
  record ReplayLimits(int messages, long bytes, boolean dropOldest, java.util.concurrent.atomic.LongAdder dropped,
      java.util.concurrent.atomic.LongAdder buffered, java.util.concurrent.atomic.LongAdder bufferedBytes) {
    ReplayLimits(int messages, long bytes, boolean dropOldest) {
      this(messages, bytes, dropOldest, new java.util.concurrent.atomic.LongAdder(),
          new java.util.concurrent.atomic.LongAdder(), new java.util.concurrent.atomic.LongAdder());
    }

    /** A session's buffer changed by this many messages and bytes (negative: released). */
    void changed(long messages, long bytes) {
      if (messages != 0) {
        buffered.add(messages);
      }
      if (bytes != 0) {
        bufferedBytes.add(bytes);
      }
    }
  }

  static final char DEVICE_SEPARATOR = '\u001f';

  /** The key of the session of {@code clientId} on device {@code deviceId} (empty: no device). */
  static String keyOf(String clientId, String deviceId) {
    return deviceId.isEmpty() ? clientId : clientId + DEVICE_SEPARATOR + deviceId;
  }

  /** Whether {@code key} names a device's session. */
  static boolean isDeviceKey(String key) {
    return key.indexOf(DEVICE_SEPARATOR) >= 0;
  }

  /** The client id in {@code key}. */
  static String clientIdOf(String key) {
    int i = key.indexOf(DEVICE_SEPARATOR);
    return i < 0 ? key : key.substring(0, i);
  }

  /** The device id in {@code key}; empty if none. */
  static String deviceIdOf(String key) {
    int i = key.indexOf(DEVICE_SEPARATOR);
    return i < 0 ? "" : key.substring(i + 1);
  }

  /**
   * Session {@code key} (see {@link #key}) of principal {@code subject}.
   */
  Session(String key, String subject, SessionIds id, Connection connection, long attemptStamp) {
    this.key = key;
    this.subject = subject;
    this.idHi = id.hi();
    this.idLo = id.lo();
    this.connection = connection;
    this.holderStamp = attemptStamp;
  }

  /**
   * A session taken over from the cluster store (another node owned it, or this one before a
   * restart): detached until the resuming connection attaches it.
   */
  static Session restored(String key, SessionIds id, ClusterStore.Snapshot from, ReplayLimits limits) {
    Session s = new Session(key, from.subject(), id, null, 0);
    s.state = State.DETACHED;
    s.lastSentSeq = from.entries().isEmpty() ? from.lastSentSeq() : from.entries().get(0).seq() - 1;
    s.lastReceivedSeq = from.lastReceivedSeq();
    s.lostMessages = from.lost() ? 1 : 0;
    for (ClusterStore.Entry e : from.entries()) {
      s.applyNumbered(e.seq(), e.message(), limits);
    }
    s.lastSentSeq = Math.max(s.lastSentSeq, from.lastSentSeq());
    if (!from.topics().isEmpty()) {
      s.topics = new HashSet<>(from.topics());
    }
    return s;
  }

  /**
   * Cluster: buffers a message the store numbered {@code seq} (and tells the connection), unless
   * the session already has it.
   *
   * @return 0, or the seq after which messages are missing (fetch them from the store first)
   */
  long applyNumbered(long seq, ClusterStore.Message m, ReplayLimits limits) {
    Connection poke;
    Connection tooSlow = null;
    Outgoing o = Outgoing.of(m);
    int size = o.size;
    synchronized (this) {
      if (state == State.ENDED || seq <= lastSentSeq) {
        return 0;
      }
      if (seq != lastSentSeq + 1) {
        return lastSentSeq;
      }
      if (outbound == null) {
        outbound = new SeqBuffer<>(limits.messages(), limits.bytes());
      }
      if (lostMessages > 0 || !outbound.fits(size)) {
        if (lostMessages == 0) {
          tooSlow = connection;
        }
        lostMessages = Math.max(lostMessages, lostMessages + 1); // saturates
        lastSentSeq = Math.max(lastSentSeq, seq);
        poke = null;
      } else {
        outbound.add(seq, o, size);
        lastSentSeq = Math.max(lastSentSeq, seq);
        poke = connection;
      }
    }
    if (poke != null) {
      limits.changed(1, size);
      poke.scheduleFlush();
    }
    if (tooSlow != null) {
      tooSlow.replayBufferOverflowed();
    }
    return 0;
  }

  /** Cluster: the session as the store must keep it (for writing it back after an outage). */
  synchronized ClusterStore.Snapshot snapshot(long epoch) {
    java.util.List<ClusterStore.Entry> entries = new java.util.ArrayList<>();
    if (outbound != null && !outbound.isEmpty()) {
      for (long seq = outbound.firstSeq(); seq <= outbound.lastSeq(); seq++) {
        Outgoing o = outbound.get(seq);
        if (o != null) {
          entries.add(new ClusterStore.Entry(seq, o.message()));
        }
      }
    }
    return new ClusterStore.Snapshot(subject, epoch, "", lastSentSeq, lastReceivedSeq, lostMessages > 0, entries,
        topics == null ? Set.of() : Set.copyOf(topics));
  }

  /** Cluster: the session continues from the store's copy of what the client sent. */
  synchronized void receivedUpTo(long seq) {
    lastReceivedSeq = seq;
  }

  SessionIds id() {
    return new SessionIds(idHi, idLo);
  }

  boolean hasId(SessionIds id) {
    return id.hi() == idHi && id.lo() == idLo;
  }

  /**
   * Numbers and buffers a message for the client and tells the attached connection to send it.
   * When the buffer is full, the node's policy decides: drop the oldest buffered messages (the
   * connection then sends a GAP), or stop numbering and cut the connection as a slow consumer.
   * Any thread.
   *
   * @param limits the node's replay buffer bounds and policy (passed in, not kept: one field less
   *     per session)
   * @return false if the session has ended
   */
  boolean offer(Outgoing message, ReplayLimits limits) {
    Connection poke;
    Connection tooSlow = null;
    int dropped = 0;
    long messagesDelta = 0;
    long bytesDelta = 0;
    int size = message.size;
    synchronized (this) {
      if (state == State.ENDED) {
        return false;
      }
      if (outbound == null && lostMessages == 0) {
        outbound = new SeqBuffer<>(limits.messages(), limits.bytes());
      }
      if (limits.dropOldest()) {
        int messagesBefore = outbound.size();
        long bytesBefore = outbound.bytes();
        while (!outbound.fits(size) && !outbound.isEmpty()) {
          outbound.removeUpTo(outbound.firstSeq(), null);
          dropped++;
        }
        long seq = ++lastSentSeq;
        if (outbound.fits(size)) {
          outbound.add(seq, message, size);
        } else {
          dropped++; // larger than the whole buffer: numbered, so the client learns of it from the GAP
        }
        messagesDelta = outbound.size() - messagesBefore;
        bytesDelta = outbound.bytes() - bytesBefore;
        poke = connection;
      } else if (lostMessages > 0 || !outbound.fits(size)) {
        if (lostMessages == 0) {
          tooSlow = connection;
        }
        lostMessages = Math.max(lostMessages, lostMessages + 1); // saturates
        poke = null;
      } else {
        long seq = ++lastSentSeq;
        outbound.add(seq, message, size);
        messagesDelta = 1;
        bytesDelta = size;
        poke = connection;
      }
    }
    limits.changed(messagesDelta, bytesDelta);
    if (dropped > 0) {
      limits.dropped().add(dropped);
    }
    if (tooSlow != null) {
      tooSlow.replayBufferOverflowed();
    }
    if (poke != null) {
      poke.scheduleFlush();
    }
    return true;
  }

  /**
   * What a connection that has written up to {@code seq} sends next, in order, into {@code into}:
   * the buffered messages after it (the first numbered {@code seq + 1}), or one {@link Frame.Gap}
   * when the messages after it were dropped (drop-oldest policy). One lock for a whole batch.
   *
   * @return how many entries were filled; 0 when the connection is up to date
   */
  synchronized int nextAfter(long seq, Object[] into) {
    if (state == State.ENDED) {
      return 0;
    }
    if (outbound != null && !outbound.isEmpty()) {
      long first = outbound.firstSeq();
      if (first > seq + 1) {
        into[0] = new Frame.Gap(seq + 1, first - 1);
        return 1;
      }
      int n = (int) Math.max(0, Math.min(into.length, outbound.lastSeq() - seq));
      for (int i = 0; i < n; i++) {
        into[i] = outbound.get(seq + 1 + i);
      }
      return n;
    }
    if (lastSentSeq > seq) {
      into[0] = new Frame.Gap(seq + 1, lastSentSeq);
      return 1;
    }
    return 0;
  }

  /** Drops what the client acknowledged; false if it acknowledged more than was sent. */
  synchronized boolean acknowledged(long seq, ReplayLimits limits) {
    if (seq > lastSentSeq) {
      return false;
    }
    trim(seq, limits);
    return true;
  }

  /** Applies docs/PROTOCOL.md section 5 to a client frame, if {@code from} still holds the session. */
  synchronized Inbound acceptInbound(Connection from, long seq) {
    if (connection != from || seq <= lastReceivedSeq) {
      return Inbound.DUPLICATE;
    }
    if (seq != lastReceivedSeq + 1) {
      return Inbound.GAP;
    }
    lastReceivedSeq = seq;
    return Inbound.NEW;
  }

  synchronized long lastReceivedSeq() {
    return lastReceivedSeq;
  }

  synchronized long lastSentSeq() {
    return lastSentSeq;
  }

  synchronized long lostMessages() {
    return lostMessages;
  }

  /**
   * What a client that has received up to {@code clientLastReceived} will never get from this
   * session: what was numbered after that, plus what could not even be buffered.
   */
  synchronized long lostFor(long clientLastReceived) {
    return Math.max(0, lastSentSeq - Math.max(0, clientLastReceived)) + lostMessages;
  }

  /**
   * Drops what is acknowledged. An emptied buffer stays for the next burst (a busy session would
   * otherwise allocate and grow one per message); {@link #releaseIdleBuffer} drops it later.
   */
  private void trim(long seq, ReplayLimits limits) {
    if (outbound != null) {
      long bytesBefore = outbound.bytes();
      int removed = outbound.removeUpTo(seq, null);
      limits.changed(-removed, outbound.bytes() - bytesBefore);
    }
  }

  /**
   * Drops the buffer if it is empty: called by the liveness sweep and on detach, so an idle session
   * carries no buffer. The unlocked first read is only a hint (most sessions have none).
   */
  void releaseIdleBuffer() {
    if (outbound == null) {
      return;
    }
    synchronized (this) {
      if (outbound != null && outbound.isEmpty()) {
        outbound = null;
      }
    }
  }

  /** Over half its buffer: a sender to it should wait until it has {@link #drained} (backpressure). */
  synchronized boolean backlogged(ReplayLimits limits) {
    return outbound != null && (outbound.size() > limits.messages() / 2 || outbound.bytes() > limits.bytes() / 2);
  }

  /** Down to a quarter of its buffer (or ended): senders held back for it may go on. */
  synchronized boolean drained(ReplayLimits limits) {
    return state == State.ENDED || outbound == null
        || outbound.size() <= limits.messages() / 4 && outbound.bytes() <= limits.bytes() / 4;
  }

  synchronized int bufferedMessages() {
    return outbound == null ? 0 : outbound.size();
  }

  synchronized long bufferedBytes() {
    return outbound == null ? 0 : outbound.bytes();
  }

  synchronized State state() {
    return state;
  }

  synchronized boolean holds(Connection c) {
    return connection == c;
  }

  /** What a resume found; {@code stale}: a connection from a later attempt holds the session. */
  record Resume(boolean resumed, boolean stale, long lastReceivedSeq, Connection previous) {}

  /**
   * Moves the session to {@code to} for a client that has received everything up to
   * {@code clientLastReceived}. Fails (resumed = false) if the session ended, lost messages, the
   * client claims what was never sent, or a newer connection holds it; and, unless
   * {@code gapsAllowed} (drop-oldest policy: the connection reports them with a GAP), if messages
   * after what the client has are no longer buffered.
   */
  synchronized Resume resume(Connection to, long clientLastReceived, long attemptStamp, ReplayLimits limits) {
    boolean gapsAllowed = limits.dropOldest();
    if (state == State.ATTACHED && attemptStamp <= holderStamp) {
      // A HELLO from an attempt the client already gave up on, arriving late: never let it win.
      // (A detached session takes any stamp, so a restarted client with a skewed clock resumes.)
      return new Resume(false, true, 0, null);
    }
    boolean empty = outbound == null || outbound.isEmpty();
    boolean gap = !empty ? clientLastReceived < outbound.firstSeq() - 1 : clientLastReceived < lastSentSeq;
    if (state == State.ENDED || lostMessages > 0 || clientLastReceived > lastSentSeq || (gap && !gapsAllowed)) {
      return new Resume(false, false, 0, null);
    }
    trim(clientLastReceived, limits);
    Connection previous = connection;
    connection = to;
    holderStamp = attemptStamp;
    state = State.ATTACHED;
    return new Resume(true, false, lastReceivedSeq, previous);
  }

  /** The connection {@code from} went away; true if it held the session, which is now DETACHED. */
  synchronized boolean detach(Connection from) {
    if (connection != from || state != State.ATTACHED) {
      return false;
    }
    connection = null;
    state = State.DETACHED;
    return true;
  }

  /**
   * Ends the session unless a connection other than {@code unless} holds it: pass the detaching or
   * closing connection, or {@code null} to end only a detached session.
   *
   * @return the topics to unsubscribe, or {@code null} if the session was not ended
   */
  synchronized Set<String> end(Connection unless, boolean force, ReplayLimits limits) {
    if (state == State.ENDED) {
      return null;
    }
    if (!force && connection != null && connection != unless) {
      return null;
    }
    state = State.ENDED;
    connection = null;
    if (outbound != null) {
      limits.changed(-outbound.size(), -outbound.bytes());
    }
    outbound = null;
    Set<String> t = topics == null ? Set.of() : topics;
    topics = null;
    return t;
  }

  /** The connection holding the session, if any. */
  synchronized Connection connection() {
    return connection;
  }

  synchronized boolean addTopic(String topic) {
    if (state == State.ENDED) {
      return false;
    }
    if (topics == null) {
      topics = new HashSet<>(4);
    }
    return topics.add(topic);
  }

  synchronized int topicCount() {
    return topics == null ? 0 : topics.size();
  }

  synchronized boolean hasTopic(String topic) {
    return topics != null && topics.contains(topic);
  }

  synchronized boolean removeTopic(String topic) {
    return topics != null && topics.remove(topic);
  }

  /** A snapshot for the admin API. */
  SessionInfo info() {
    Connection c;
    SessionInfo partial;
    synchronized (this) {
      c = connection;
      partial = new SessionInfo(clientId(), deviceId(), id().toString(), subject, state.name(), null,
          outbound == null ? 0 : outbound.size(), outbound == null ? 0 : outbound.bytes(), lastSentSeq,
          lastReceivedSeq, topics == null ? 0 : topics.size());
    }
    return c == null ? partial : new SessionInfo(partial.clientId(), partial.deviceId(), partial.sessionId(),
        partial.subject(),
        partial.state(), c.link(), partial.bufferedMessages(), partial.bufferedBytes(), partial.lastSentSeq(),
        partial.lastReceivedSeq(), partial.topics());
  }

  @Override
  public String toString() {
    return "session " + id() + " (client " + clientId() + (isDevice() ? ", device " + deviceId() : "") + ")";
  }

  /**
   * The client id (the sender of what it sends). Without a device, the key itself. A device's client
   * id is most often its principal's name (tokens' default rule, and every session without tokens),
   * and then it is {@link #subject}, not a copy; otherwise it is cut from the key on each call, which
   * costs such a device's messages one small string each rather than every idle session a field.
   */
  String clientId() {
    int i = key.indexOf(DEVICE_SEPARATOR);
    if (i < 0) {
      return key;
    }
    return i == subject.length() && key.startsWith(subject) ? subject : key.substring(0, i);
  }

  /** The device id; empty for a session without one. */
  String deviceId() {
    return deviceIdOf(key);
  }

  /** Whether the session is one of its principal's devices (reachable with the USER target kind). */
  boolean isDevice() {
    return isDeviceKey(key);
  }
}
