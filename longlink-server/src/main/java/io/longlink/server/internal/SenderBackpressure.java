package io.longlink.server.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Holds a sender back while the one client it sends to lags: once the recipient has more than half
 * its replay buffer unacknowledged, the sender's connection stops reading until the recipient is
 * down to a quarter ({@link Session#backlogged}, {@link Session#drained}). A sender cannot outrun
 * its receiver into a lost session; a topic's subscribers are not waited for (one slow subscriber
 * must not stop a topic). Thread-safe; holds nothing unless a receiver lags.
 */
final class SenderBackpressure {
  private final Session.ReplayLimits limits;
  private final LongAdder pauses;
  /** Connections not reading until a recipient's buffer drains. */
  private final ConcurrentHashMap<Session, Set<Connection>> waitingFor = new ConcurrentHashMap<>();

  SenderBackpressure(Session.ReplayLimits limits, LongAdder pauses) {
    this.limits = limits;
    this.pauses = pauses;
  }

  /** {@code sender} just handed {@code to} a message: hold it back if {@code to} lags. */
  void sent(Connection sender, Session to) {
    if (!to.backlogged(limits)) {
      return;
    }
    pauses.increment();
    sender.readFromClient(false); // first: a release from now on finds it paused and lets it go
    waitingFor.compute(to, (k, waiting) -> { // atomic with release's remove: never into a set already let go
      Set<Connection> w = waiting != null ? waiting : ConcurrentHashMap.newKeySet();
      w.add(sender);
      return w;
    });
    if (to.drained(limits)) {
      release(to); // drained between the check and the registration
    }
  }

  /** {@code s} acknowledged messages (or ended): senders held back for it go on once it drained. */
  void drainedSome(Session s) {
    if (!waitingFor.isEmpty() && waitingFor.containsKey(s) && s.drained(limits)) {
      release(s);
    }
  }

  private void release(Session s) {
    Set<Connection> waiting = waitingFor.remove(s);
    if (waiting != null) {
      for (Connection c : waiting) {
        c.readFromClient(true);
      }
    }
  }
}
