package io.longlink.server.internal;

import io.longlink.server.Limits.Limit;
import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-remote-address bounds: open connections and new connections per second (a token bucket
 * with a burst of one second's worth). An address is tracked while it has connections and until
 * its bucket has refilled, then forgotten by {@link #sweep}. Thread-safe.
 */
final class AddressLimiter {
  private final int maxOpen;
  private final int maxPerSecond;
  private final ConcurrentHashMap<InetAddress, Entry> byAddress = new ConcurrentHashMap<>();

  /** One address's count and bucket; guarded by its own monitor. */
  private static final class Entry {
    int open;
    TokenBucket bucket;
  }

  AddressLimiter(int maxOpen, int maxPerSecond) {
    this.maxOpen = maxOpen;
    this.maxPerSecond = maxPerSecond;
  }

  boolean enabled() {
    return maxOpen > 0 || maxPerSecond > 0;
  }

  /**
   * Counts a new connection from {@code address}, or refuses it.
   *
   * @return {@code null} if admitted (then {@link #release} must follow), else the bound it broke
   */
  Limit admit(InetAddress address, long nowNanos) {
    while (true) {
      Entry e = byAddress.computeIfAbsent(address, a -> {
        Entry n = new Entry();
        n.bucket = maxPerSecond > 0 ? new TokenBucket(maxPerSecond, maxPerSecond, nowNanos) : null;
        return n;
      });
      synchronized (e) {
        if (byAddress.get(address) != e) {
          continue; // swept meanwhile
        }
        if (maxOpen > 0 && e.open >= maxOpen) {
          return Limit.CONNECTIONS_PER_ADDRESS;
        }
        if (e.bucket != null && !e.bucket.tryTake(nowNanos)) {
          return Limit.NEW_CONNECTIONS_PER_ADDRESS;
        }
        e.open++;
        return null;
      }
    }
  }

  void release(InetAddress address) {
    Entry e = byAddress.get(address);
    if (e != null) {
      synchronized (e) {
        e.open--;
      }
    }
  }

  /** Forgets addresses with no connections whose bucket is full again. */
  void sweep(long nowNanos) {
    byAddress.forEach((address, e) -> {
      synchronized (e) {
        if (e.open == 0 && (e.bucket == null || e.bucket.isFull(nowNanos))) {
          byAddress.remove(address, e);
        }
      }
    });
  }

  int trackedAddresses() {
    return byAddress.size();
  }
}
