package io.longlink.server.internal.netty;

import java.util.concurrent.ConcurrentHashMap;

/**
 * One instance per value of an immutable type that many channels would otherwise each hold an equal
 * copy of in a field ({@link SharedLocalAddresses}, {@link SharedEpollOps}). Bounded: a handful of
 * distinct values is expected, so past {@code maxDistinct} nothing new is shared. Thread-safe.
 */
final class SharedInstances<V> {
  private final ConcurrentHashMap<V, V> shared = new ConcurrentHashMap<>();
  private final Class<V> type;
  private final int maxDistinct;

  SharedInstances(Class<V> type, int maxDistinct) {
    this.type = type;
    this.maxDistinct = maxDistinct;
  }

  /**
   * Points {@code field} of {@code holder} at the instance shared by every holder with an equal
   * value. Call on the holder's event loop.
   *
   * @return true if it now holds the shared instance; false if it holds no {@code V} or the table is full
   */
  boolean share(NettyField field, Object holder) {
    Object own = field.handle().getVolatile(holder);
    if (!type.isInstance(own)) {
      return false;
    }
    V one = shared.get(own);
    if (one == null) {
      if (shared.size() >= maxDistinct) {
        return false;
      }
      V raced = shared.putIfAbsent(type.cast(own), type.cast(own));
      one = raced == null ? type.cast(own) : raced;
    }
    if (one != own) {
      field.handle().setVolatile(holder, one);
    }
    return true;
  }

  /** Distinct values being shared. */
  int distinct() {
    return shared.size();
  }
}
