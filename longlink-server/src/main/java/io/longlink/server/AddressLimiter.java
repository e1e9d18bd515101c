package io.longlink.server;

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
    double tokens;
    long refilledAtNanos;
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
        n.tokens = maxPerSecond;
        n.refilledAtNanos = nowNanos;
        return n;
      });
      synchronized (e) {
        if (byAddress.get(address) != e) {
          continue; // swept meanwhile
        }
        if (maxPerSecond > 0) {
          refill(e, nowNanos);
          if (e.tokens < 1) {
            return Limit.NEW_CONNECTIONS_PER_ADDRESS;
          }
        }
        if (maxOpen > 0 && e.open >= maxOpen) {
          return Limit.CONNECTIONS_PER_ADDRESS;
        }
        if (maxPerSecond > 0) {
          e.tokens -= 1;
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
        if (maxPerSecond > 0) {
          refill(e, nowNanos);
        }
        if (e.open == 0 && (maxPerSecond == 0 || e.tokens >= maxPerSecond)) {
          byAddress.remove(address, e);
        }
      }
    });
  }

  int trackedAddresses() {
    return byAddress.size();
  }

  private void refill(Entry e, long nowNanos) {
    double add = (nowNanos - e.refilledAtNanos) / 1e9 * maxPerSecond;
    if (add > 0) {
      e.tokens = Math.min(maxPerSecond, e.tokens + add);
      e.refilledAtNanos = nowNanos;
    }
  }
}
