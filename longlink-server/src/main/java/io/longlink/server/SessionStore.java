package io.longlink.server;

import java.util.List;

/**
 * Where sessions live between connections: lookup by id for resume, and the retention of detached
 * ones. The embedded default keeps them in memory ({@link InMemorySessionStore}); a shared store
 * lets a session resume on another node.
 *
 * <p>Implementations are thread-safe. Ending a session (unsubscribing, releasing its buffer) is the
 * caller's job: the store only says which sessions must go.
 */
interface SessionStore {
  void add(Session session);

  /** The session with this id, or {@code null}. */
  Session find(String sessionId);

  /**
   * The session lost its connection at {@code nowNanos}; keep it for the retention time.
   *
   * @return sessions evicted to stay within the store's bounds (least recently detached first)
   */
  List<Session> detached(Session session, long nowNanos);

  /** The session was resumed: no longer subject to retention. */
  void attached(Session session);

  /** Forget the session. */
  void remove(Session session);

  /**
   * Removes and returns the detached sessions whose retention has run out at {@code nowNanos}.
   */
  List<Session> expire(long nowNanos);

  int size();

  int detachedCount();
}
