package io.longlink.server;

import java.util.concurrent.ConcurrentHashMap;

/** Sessions by client id. Thread-safe; one session per client id. */
final class SessionRegistry {
  private final ConcurrentHashMap<String, Session> byClientId = new ConcurrentHashMap<>();

  /** Registers {@code session} and returns the session it replaced, or {@code null}. */
  Session register(Session session) {
    return byClientId.put(session.clientId, session);
  }

  /** Removes {@code session} if it is still the one registered for its client id. */
  boolean remove(Session session) {
    return byClientId.remove(session.clientId, session);
  }

  Session get(String clientId) {
    return byClientId.get(clientId);
  }

  int size() {
    return byClientId.size();
  }
}
