package io.longlink.client;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * Which tier of endpoints a client uses now, and when it moves ({@link Fallback}): a pure state
 * machine over "a round failed", "logged in" and "the direct path works", which the client feeds and
 * obeys. Without a {@link Fallback} there is one tier, the direct endpoints, and it never moves.
 * Confined to the client's event loop.
 */
final class Routes {
  private final List<Fallback.Tier> tiers;
  private final int failuresBeforeFallback;
  private int current;
  private int failedRounds;

  Routes(List<InetSocketAddress> direct, Fallback fallback) {
    if (fallback == null) {
      tiers = List.of(new Fallback.Tier(Route.DIRECT, direct));
      failuresBeforeFallback = Integer.MAX_VALUE;
    } else {
      tiers = fallback.tiers(direct);
      failuresBeforeFallback = fallback.failuresBeforeFallback;
    }
  }

  Route route() {
    return tiers.get(current).route();
  }

  List<InetSocketAddress> endpoints() {
    return tiers.get(current).endpoints();
  }

  List<InetSocketAddress> direct() {
    return tiers.get(0).endpoints();
  }

  /** A round of this tier's endpoints ended without a login. @return the tier moved to, or {@code null} */
  Route roundFailed() {
    if (tiers.size() == 1 || ++failedRounds < failuresBeforeFallback) {
      return null;
    }
    failedRounds = 0;
    current = (current + 1) % tiers.size();
    return route();
  }

  /** A login succeeded on this tier. */
  void loggedIn() {
    failedRounds = 0;
  }

  /** Whether the client is below the direct tier (and should probe it). */
  boolean onFallback() {
    return current > 0;
  }

  /** A probe of the direct endpoints connected. */
  void backToDirect() {
    current = 0;
    failedRounds = 0;
  }
}
