package io.longlink.server.internal;

import java.util.List;

/**
 * The sessions of a node, one per client id: lookup for routing and resume, and the retention of
 * detached ones. The embedded default keeps them in memory ({@link InMemorySessionStore}); a shared store
 * lets a session resume on another node.
 *
 * <p>Implementations are thread-safe. Ending a session (unsubscribing, releasing its buffer) is the
 * caller's job: the store only says which sessions must go.
 */
interface SessionStore {
  /** Registers {@code session} for its client id; returns the session it replaced, or {@code null}. */
  Session register(Session session);

  /** The session of {@code clientId}, or {@code null}. */
  Session get(String clientId);

  /**
   * The session of {@code clientId} if its id is {@code sessionId}, else {@code null}: a session
   * is only ever found through the client id it belongs to, so an id alone reveals nothing.
   */
  default Session find(String clientId, String sessionId) {
    SessionIds id = SessionIds.parse(sessionId);
    Session s = id == null ? null : get(clientId);
    return s != null && s.hasId(id) ? s : null;
  }

  /**
   * The session lost its connection at {@code nowNanos}; keep it for the retention time.
   *
   * @return sessions evicted to stay within the store's bounds (least recently detached first)
   */
  List<Session> detached(Session session, long nowNanos);

  /** The session was resumed: no longer subject to retention. */
  void attached(Session session);

  /** Forgets the session, if it is still the one registered for its client id. */
  void remove(Session session);

  /**
   * Removes and returns the detached sessions whose retention has run out at {@code nowNanos}.
   */
  List<Session> expire(long nowNanos);

  int size();

  /**
   * Visits the sessions this node holds until {@code visitor} returns false (the admin API's
   * listing; weakly consistent, may take a while on a big node).
   */
  void forEach(java.util.function.Predicate<Session> visitor);

  int detachedCount();
}
