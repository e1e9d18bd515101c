package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The {@link ConnectionAuth} of one event loop's connections, kept beside them rather than in them:
 * a node without expiring tokens or restricted permissions keeps nothing here, and its idle
 * connections not one byte more. Checked every {@link #CHECK_EVERY_NANOS} for tokens due for
 * refresh or expired. Confined to its event loop.
 */
final class LoopAuth {
  /** How often each loop checks its connections' tokens. */
  static final long CHECK_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  /** What {@link #check} asks of a connection. */
  interface Holder {
    /** Sends REAUTH: the token runs out in {@code expiresInMs}. */
    void askForToken(int expiresInMs);

    /** GOAWAY {@code code} and close; the session stays for resume. */
    void goAway(ErrorCode code, String reason);
  }

  private final Map<Holder, ConnectionAuth> byConnection = new IdentityHashMap<>();

  /** {@code null} when the connection has nothing to keep (all allowed, no expiry). */
  ConnectionAuth of(Holder c) {
    return byConnection.isEmpty() ? null : byConnection.get(c);
  }

  void put(Holder c, ConnectionAuth auth) {
    if (auth == null) {
      byConnection.remove(c);
    } else {
      byConnection.put(c, auth);
    }
  }

  void remove(Holder c) {
    if (!byConnection.isEmpty()) {
      byConnection.remove(c);
    }
  }

  /** Connections watched (tests check that closed ones leave). */
  int size() {
    return byConnection.size();
  }

  /** Sends REAUTH to connections whose token is due, GOAWAY TOKEN_EXPIRED to those whose token ran out. */
  void check(long nowNanos) {
    if (byConnection.isEmpty()) {
      return;
    }
    List<Holder> expired = null;
    for (Map.Entry<Holder, ConnectionAuth> e : byConnection.entrySet()) {
      ConnectionAuth a = e.getValue();
      if (nowNanos - a.expiresAtNanos >= 0 && a.expiresAtNanos != ConnectionAuth.NEVER) {
        (expired == null ? expired = new ArrayList<>() : expired).add(e.getKey());
      } else if (a.refreshAtNanos != ConnectionAuth.NEVER && nowNanos - a.refreshAtNanos >= 0) {
        a.refreshAtNanos = ConnectionAuth.NEVER;
        e.getKey().askForToken((int) Math.min(Integer.MAX_VALUE, Math.max(0, (a.expiresAtNanos - nowNanos) / 1_000_000)));
      }
    }
    if (expired != null) {
      for (Holder c : expired) {
        byConnection.remove(c);
        c.goAway(ErrorCode.TOKEN_EXPIRED, "token expired and no fresh one came (expected: AUTH before it ran out)");
      }
    }
  }
}
