package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.TargetKind;
import io.netty.util.concurrent.EventExecutorGroup;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Where a node's sessions live and how messages reach them: the one place that differs between a
 * single node ({@link LocalDirectory}: in memory) and a cluster node ({@link ClusterDirectory}: in
 * memory, with every session's durable copy and every message numbered in the cluster store). The
 * node picks one when it is built; nothing on the frame path asks which.
 *
 * <p>What both keep in this node's memory (the sessions by client id, their topics, the replay
 * buffers' bounds) is {@link #sessions()}; a directory adds what its mode needs around it.
 *
 * <h2>Ordering rules every implementation keeps</h2>
 *
 * <ul>
 *   <li><b>WELCOME before DATA.</b> {@link #register} may make a session reachable before its
 *       connection wrote WELCOME, but only from a task on that connection's event loop that writes
 *       the WELCOME before it returns: a message offered meanwhile only schedules a flush, which runs
 *       on the same loop after that task, so the client sees WELCOME first.
 *   <li><b>Acknowledge only what is kept.</b> A client's frame is acknowledged (ACK up to {@link
 *       #ackable}) only once what it asked for is as durable as the directory can make it: in memory
 *       on a single node; its routed messages and the session's received counter in the store in a
 *       cluster (or the session runs from memory, marked dirty, while the store is unreachable).
 *       A directory that acknowledges later tells the connection with {@link
 *       Connection#acknowledgeStored()}.
 *   <li><b>Frames wait while claiming.</b> A handshake step answered later ({@link #find}, {@link
 *       #create} not yet complete when they return) puts the connection in CLAIMING: it reads nothing
 *       more, and the frames that arrived behind the HELLO wait undecoded until the session is open
 *       (or are dropped with the connection). So nothing a client sends can reach a session that is
 *       not yet its own.
 *   <li><b>A message is numbered once.</b> The seq a message gets in a session is given by one place
 *       (the session itself on a single node, the store in a cluster) and never changes, so a replay
 *       after resume, on any node, carries the same numbers.
 * </ul>
 *
 * <p>Thread-safe. Frame-path methods are called on the client connection's event loop; completions
 * of the returned stages may come on any thread (the handshake hops back to the loop).
 */
sealed interface SessionDirectory permits LocalDirectory, ClusterDirectory {

  /** The sessions and topic subscriptions this node holds in memory. */
  LocalSessions sessions();

  // ---- handshake ----

  /**
   * What a HELLO asking to resume {@code sessionId} of session key {@code key} (the client id, with
   * its device id if any: {@link Session#keyOf}), authenticated as {@code
   * subject}) finds. A {@link Found.Resumable} session is then resumed on the connection's loop, if
   * its buffers and the client's counters allow (else the client gets a new session, LOST). An answer
   * that needs the store is worked out on {@code loop} (the connection's event loop), so the session
   * it registers and the resume that follows see one order.
   */
  CompletionStage<Found> find(String key, String sessionId, String subject, Executor loop);

  /** What {@link #find} found. */
  sealed interface Found {
    /** A session to resume, held by this node now (in a cluster: claimed from the store for it). */
    record Resumable(Session session) implements Found {}

    /** No such session (never existed, ended, expired): the client gets a new one, LOST. */
    record Gone() implements Found {}

    /** Refused: the session exists but the client may not have it. */
    record Refused(ErrorCode code, String reason) implements Found {}

    /** Cannot be answered now (the store is unreachable and this node does not hold it): come back later. */
    record Unavailable(String reason) implements Found {}
  }

  /**
   * A new session for the client of {@code hello}, held by {@code on}; not yet reachable (see {@link
   * #register}). Completes with the session even when the store cannot take it (the session then runs
   * from this node's memory until the store is back).
   */
  CompletionStage<Session> create(Frame.Hello hello, String subject, Connection on);

  /**
   * Makes a new session (from {@link #create}) the session of its client id on this node, ending the
   * one it replaces here (whose connection is told GOAWAY REPLACED). On its connection's loop, in the
   * task that writes its WELCOME.
   */
  void register(Session s);

  /** {@code s} was resumed on a connection: no longer subject to retention (and online again, for a device). */
  default void resumed(Session s) {
    sessions().store.attached(s);
    if (s.isDevice()) {
      sessions().devices.resumed(s);
    }
  }

  // ---- devices (protocol version 3) ----

  /**
   * Whether a new device session {@code key} of {@code principal} may log in under the per-user
   * session limit, counting the principal's other device sessions (cluster-wide in a cluster).
   */
  CompletionStage<Admission> admitDevice(String principal, String key);

  /** What {@link #admitDevice} decided. */
  sealed interface Admission {
    /** Under the limit. */
    record Admitted() implements Admission {}

    /** At the limit, policy REFUSE_NEWEST: the login gets LIMIT_EXCEEDED. */
    record Refused(String reason) implements Admission {}

    /** At the limit, policy END_OLDEST: {@code principal}'s session {@code key} ends first. */
    record EndOldest(String principal, String key) implements Admission {}

    /**
     * The decision for a login of {@code principal} that finds {@code others} device sessions of it,
     * the oldest of them {@code oldestKey} (asked only when needed; empty or null: none).
     */
    static Admission decide(io.longlink.server.DeviceOptions o, String principal, int others,
        java.util.function.Supplier<String> oldestKey) {
      if (others < o.maxSessionsPerUser()) {
        return new Admitted();
      }
      if (o.limitPolicy() == io.longlink.server.DeviceOptions.LimitPolicy.REFUSE_NEWEST) {
        return new Refused("user has " + others + " sessions (limit: " + o.maxSessionsPerUser() + ")");
      }
      String key = oldestKey.get();
      return key == null || key.isEmpty() ? new Admitted() : new EndOldest(principal, key);
    }
  }

  /**
   * Ends the user's oldest session to make room (END_OLDEST): its connection gets GOAWAY REPLACED,
   * its device goes offline.
   */
  default void endOldest(Admission.EndOldest e) {
    Session s = sessions().get(e.key());
    if (s == null) {
      return;
    }
    Connection c = s.connection();
    end(s, null, true);
    if (c != null) {
      c.goAway(ErrorCode.REPLACED, "the user's newest device logged in past the session limit");
    }
  }

  /** The online devices of {@code principal} (cluster-wide in a cluster). */
  CompletionStage<java.util.List<io.longlink.server.DevicePresence>> presence(String principal);

  /** Online device sessions and users: on this node, and cluster-wide (the same on a single node). */
  PresenceCounts presenceCounts();

  /** {@link #presenceCounts()}'s answer; cluster-wide figures are at most a presence lease old. */
  record PresenceCounts(long nodeSessions, long nodeUsers, long clusterSessions, long clusterUsers) {}

  // ---- a logged-in client's frames (its connection's event loop) ----

  /**
   * The client's new DATA {@code d} (numbered {@code d.seq()} in its session {@code s}), routed unless
   * the application's handler consumed it ({@code route} false). {@code from} may be held back (its
   * reading paused) while what it sends waits.
   */
  void fromClient(Connection from, Session s, Frame.Data d, boolean route);

  /** The client's new SUBSCRIBE {@code seq}: the session takes the topic. */
  void subscribe(Session s, long seq, String topic);

  /** The client's new UNSUBSCRIBE {@code seq}. */
  void unsubscribe(Session s, long seq, String topic);

  /** The client's sequenced frame {@code seq} was accepted but refused (e.g. FORBIDDEN): nothing to do, acknowledged in order. */
  void refused(Session s, long seq);

  /** The client has the session's messages up to {@code seq} (already dropped from its replay buffer). */
  void acknowledged(Session s, long seq);

  /** Up to which of the client's frames an ACK may say they are taken care of now. */
  long ackable(Session s);

  // ---- sessions ending ----

  /** {@code c} went away without CLOSE while holding {@code s}: keep the session for resume, or end it. */
  void connectionLost(Session s, Connection c);

  /**
   * Ends a session (unless a connection other than {@code unless} holds it, when not {@code force}):
   * unsubscribes it and forgets it, here and in the store.
   */
  void end(Session s, Connection unless, boolean force);

  /** Ends the detached sessions whose retention ran out at {@code nowNanos}. Called periodically. */
  default void expireDetached(long nowNanos) {
    sessions().devices.sweep(nowNanos);
    for (Session s : sessions().expire(nowNanos)) {
      end(s, null, false);
    }
  }

  // ---- the backend ----

  /**
   * A message from the backend ({@code from} empty) or the node itself to a client or a topic. Blocks
   * until the message is as durable as the directory makes it (at most a few seconds).
   *
   * @return how many sessions of this node took it (a topic's subscribers on other nodes not counted)
   * @throws IllegalStateException if the store is unreachable and the message could not be sent
   */
  int publish(String from, TargetKind kind, String target, byte[] payload);

  // ---- the node's lifecycle ----

  /** The node started as {@code nodeId}; periodic work runs on {@code loops}. */
  void start(String nodeId, EventExecutorGroup loops);

  /** Why the store cannot be reached now, or empty (always empty on a single node). */
  String unavailableWhy();

  /** The node stopped (after its connections closed). */
  void close();
}
