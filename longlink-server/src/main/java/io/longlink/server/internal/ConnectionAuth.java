package io.longlink.server.internal;

import io.longlink.server.Authorizer;
import java.util.HashMap;

/**
 * What a connection's credential allows and until when: its principal's permissions (behind a
 * small cache of decisions, so an authorizer with many rules costs the message path one map
 * lookup), and the times to ask for a fresh token (REAUTH) and to give up on it (GOAWAY
 * TOKEN_EXPIRED), on the node's ticker. Kept only for connections that need it ({@link LoopAuth}).
 * Confined to the connection's event loop.
 */
final class ConnectionAuth {
  /** Most decisions cached per action; then the cache starts over. */
  static final int CACHED_DECISIONS = 256;
  static final long NEVER = Long.MAX_VALUE;

  final String principal;
  private final Authorizer.Permissions permissions;
  @SuppressWarnings("unchecked")
  private final HashMap<String, Boolean>[] decisions = new HashMap[Authorizer.Action.values().length];
  /** When to send REAUTH; {@link #NEVER} once sent or when the token does not expire. */
  long refreshAtNanos;
  final long expiresAtNanos;

  ConnectionAuth(String principal, Authorizer.Permissions permissions, long refreshAtNanos, long expiresAtNanos) {
    this.principal = principal;
    this.permissions = permissions;
    this.refreshAtNanos = refreshAtNanos;
    this.expiresAtNanos = expiresAtNanos;
  }

  /**
   * For a credential valid for {@code validForNanos} from {@code nowNanos} ({@code -1}: forever):
   * REAUTH at {@code refreshAheadNanos} before it runs out, or half way for short-lived ones.
   */
  static ConnectionAuth of(String principal, Authorizer.Permissions permissions, long nowNanos, long validForNanos,
      long refreshAheadNanos) {
    if (validForNanos < 0) {
      return new ConnectionAuth(principal, permissions, NEVER, NEVER);
    }
    long ahead = Math.min(refreshAheadNanos, validForNanos / 2);
    return new ConnectionAuth(principal, permissions, nowNanos + validForNanos - ahead, nowNanos + validForNanos);
  }

  boolean allows(Authorizer.Action action, String target) {
    if (permissions == Authorizer.Permissions.ALL) {
      return true;
    }
    HashMap<String, Boolean> cache = decisions[action.ordinal()];
    if (cache == null) {
      cache = decisions[action.ordinal()] = new HashMap<>();
    }
    Boolean known = cache.get(target);
    if (known != null) {
      return known;
    }
    boolean allowed = permissions.allows(action, target);
    if (cache.size() >= CACHED_DECISIONS) {
      cache.clear();
    }
    cache.put(target, allowed);
    return allowed;
  }
}
