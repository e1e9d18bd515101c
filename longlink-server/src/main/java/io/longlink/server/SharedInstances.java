package io.longlink.server;

import java.util.concurrent.ConcurrentHashMap;

/**
 * One instance per key of equal immutable values that many connections would otherwise each hold a
 * copy of ({@link SharedLocalAddresses}, {@link SharedEpollOps}). Bounded: a handful of distinct
 * values is expected, so past {@code maxDistinct} nothing new is shared. Thread-safe.
 */
final class SharedInstances<K, V> {
  private final ConcurrentHashMap<K, V> shared = new ConcurrentHashMap<>();
  private final int maxDistinct;

  SharedInstances(int maxDistinct) {
    this.maxDistinct = maxDistinct;
  }

  /** The instance shared for {@code key} ({@code own} if it is the first), or {@code null} when full. */
  V share(K key, V own) {
    V one = shared.get(key);
    if (one == null) {
      if (shared.size() >= maxDistinct) {
        return null;
      }
      V raced = shared.putIfAbsent(key, own);
      one = raced == null ? own : raced;
    }
    return one;
  }

  /** Distinct values being shared. */
  int distinct() {
    return shared.size();
  }
}
