package io.longlink.server.internal;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sessions in this process's memory: the single-node default. Detached sessions are kept in detach
 * order, which is also expiry order (one retention time for all), so expiry and LRU eviction both
 * take from the head.
 */
final class InMemorySessionStore implements SessionStore {
  /** The only per-session map entry: a second index would cost every idle connection ~30 bytes. */
  private final ConcurrentHashMap<String, Session> byClientId = new ConcurrentHashMap<>();
  /** Detached sessions, oldest first. Guarded by {@code this}. */
  private final LinkedHashMap<Session, Detached> detached = new LinkedHashMap<>();
  private final long retentionNanos;
  private final int maxDetached;
  private final long maxDetachedBytes;
  private long detachedBytes;

  /** When a session was detached and how much it buffered then. */
  private record Detached(long atNanos, long bytes) {}

  InMemorySessionStore(long retentionNanos, int maxDetached, long maxDetachedBytes) {
    this.retentionNanos = retentionNanos;
    this.maxDetached = maxDetached;
    this.maxDetachedBytes = maxDetachedBytes;
  }

  @Override
  public Session register(Session session) {
    return byClientId.put(session.key, session);
  }

  @Override
  public Session get(String clientId) {
    return byClientId.get(clientId);
  }

  @Override
  public void forEach(java.util.function.Predicate<Session> visitor) {
    for (Session s : byClientId.values()) {
      if (!visitor.test(s)) {
        return;
      }
    }
  }

  @Override
  public synchronized List<Session> detached(Session session, long nowNanos) {
    long bytes = session.bufferedBytes();
    Detached previous = detached.put(session, new Detached(nowNanos, bytes));
    if (previous != null) {
      detachedBytes -= previous.bytes();
    }
    detachedBytes += bytes;
    List<Session> evicted = null;
    Iterator<Map.Entry<Session, Detached>> it = detached.entrySet().iterator();
    while ((detached.size() > maxDetached || detachedBytes > maxDetachedBytes) && it.hasNext()) {
      Map.Entry<Session, Detached> oldest = it.next();
      it.remove();
      detachedBytes -= oldest.getValue().bytes();
      if (evicted == null) {
        evicted = new ArrayList<>();
      }
      evicted.add(oldest.getKey());
    }
    return evicted == null ? List.of() : evicted;
  }

  @Override
  public synchronized void attached(Session session) {
    Detached d = detached.remove(session);
    if (d != null) {
      detachedBytes -= d.bytes();
    }
  }

  @Override
  public void remove(Session session) {
    byClientId.remove(session.key, session);
    attached(session);
  }

  @Override
  public synchronized List<Session> expire(long nowNanos) {
    List<Session> expired = null;
    Iterator<Map.Entry<Session, Detached>> it = detached.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<Session, Detached> e = it.next();
      if (nowNanos - e.getValue().atNanos() < retentionNanos) {
        break; // the rest detached later
      }
      it.remove();
      detachedBytes -= e.getValue().bytes();
      if (expired == null) {
        expired = new ArrayList<>();
      }
      expired.add(e.getKey());
    }
    return expired == null ? List.of() : expired;
  }

  @Override
  public int size() {
    return byClientId.size();
  }

  @Override
  public synchronized int detachedCount() {
    return detached.size();
  }
}
