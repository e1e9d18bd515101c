package io.longlink.server.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The device sessions this node holds (sessions whose HELLO named a device, protocol version 3), by
 * principal, and each one's presence on this node. Sessions without a device id are not here: they
 * cost nothing more than before.
 *
 * <p>Presence, per device session: <b>online</b> from its login; still online while its connection
 * is down for less than the grace time (a flash disconnect that resumes within it changes nothing);
 * <b>offline</b> when the grace runs out or the session ends; online again when a session that went
 * offline resumes. A new login of the same device (same key) replaces the session and keeps the
 * device online. A session that moved to another node leaves without going offline (the node that
 * took it over keeps it online). Transitions go to the {@link Listener}, outside any lock.
 *
 * <p>Thread-safe: changes under the object's monitor; {@link #of}, {@link Device#online()} and the
 * counts read lock-free. The counts are kept as transitions happen, so a metrics scrape costs
 * nothing per device.
 */
final class Devices {

  /** Where this node's transitions go: the directory tells the cluster (if any) and publishes the events. */
  interface Listener {
    /**
     * {@code d} is online on this node: a new login or a session taken over from another node
     * ({@code wasOnline}: it replaced a session of the same device that was online here), or a resume
     * after it had gone offline.
     */
    void online(Device d, boolean wasOnline);

    /** {@code d} went offline here (grace passed, or its session ended). */
    void offline(Device d);
  }

  /** One device session here and its presence. */
  static final class Device {
    final Session session;
    final String principal;
    final long sinceMillis;
    /** Written under the {@link Devices}' monitor. */
    private volatile boolean online;
    /** When its connection dropped, on the node's ticker; {@code NOT_DETACHED} while attached. Guarded. */
    private long detachedAtNanos = NOT_DETACHED;

    Device(Session session, long sinceMillis) {
      this.session = session;
      this.principal = session.subject;
      this.sinceMillis = sinceMillis;
    }

    String deviceId() {
      return session.deviceId();
    }

    boolean online() {
      return online;
    }
  }

  private static final long NOT_DETACHED = Long.MIN_VALUE;
  private static final Device[] NONE = new Device[0];

  private final ConcurrentHashMap<String, Device[]> byPrincipal = new ConcurrentHashMap<>();
  /** Detached devices in detach order (one grace for all, so also the order their grace runs out). Guarded. */
  private final ArrayDeque<Detach> detaching = new ArrayDeque<>();
  private final long graceNanos;
  private volatile Listener listener;
  /** Online device sessions here, and principals with at least one; written under the monitor. */
  private volatile long onlineSessions;
  private volatile long onlineUsers;

  private record Detach(Device device, long atNanos) {}

  Devices(long graceNanos) {
    this.graceNanos = graceNanos;
  }

  /** Where transitions go: the directory's, set once before the node takes a connection. */
  void listen(Listener l) {
    this.listener = l;
  }

  /** The device sessions of {@code principal} here (live or kept for resume); do not modify. */
  Device[] of(String principal) {
    Device[] d = byPrincipal.get(principal);
    return d == null ? NONE : d;
  }

  /** How many device sessions {@code principal} has here, not counting the one of {@code key}. */
  int count(String principal, String key) {
    int n = 0;
    for (Device d : of(principal)) {
      if (!d.session.key.equals(key)) {
        n++;
      }
    }
    return n;
  }

  /** The longest-standing device session of {@code principal} here other than {@code key}'s; null if none. */
  Session oldest(String principal, String key) {
    Device oldest = null;
    for (Device d : of(principal)) {
      if (!d.session.key.equals(key) && (oldest == null || d.sinceMillis < oldest.sinceMillis)) {
        oldest = d;
      }
    }
    return oldest == null ? null : oldest.session;
  }

  /** A device session {@code s} logged in here (new, or taken over from another node). */
  void add(Session s, long nowMillis) {
    Device d;
    boolean wasOnline = false;
    synchronized (this) {
      Device[] current = of(s.subject);
      Device replaced = null;
      int at = -1;
      for (int i = 0; i < current.length; i++) {
        if (current[i].session.key.equals(s.key)) {
          replaced = current[i];
          at = i;
        }
      }
      if (replaced != null && replaced.session == s) {
        return; // registered again (a cluster node that held it all along)
      }
      wasOnline = replaced != null && replaced.online;
      d = new Device(s, wasOnline ? replaced.sinceMillis : nowMillis);
      if (wasOnline) { // the new session takes the old one's place: the counts stay, no event for the old one
        replaced.online = false;
        d.online = true;
      }
      Device[] next;
      if (at >= 0) {
        next = current.clone();
        next[at] = d;
      } else {
        next = Arrays.copyOf(current, current.length + 1);
        next[current.length] = d;
      }
      byPrincipal.put(s.subject, next);
      if (!wasOnline) {
        turn(d, true);
      }
    }
    listener.online(d, wasOnline);
  }

  /** {@code s}'s connection dropped at {@code nowNanos}: it stays online for the grace time. */
  void detached(Session s, long nowNanos) {
    Device d = find(s);
    if (d == null) {
      return;
    }
    synchronized (this) {
      d.detachedAtNanos = nowNanos;
      detaching.addLast(new Detach(d, nowNanos));
    }
  }

  /** {@code s} was resumed here: online again if it had gone offline. */
  void resumed(Session s) {
    Device d = find(s);
    if (d == null) {
      return;
    }
    boolean back;
    synchronized (this) {
      d.detachedAtNanos = NOT_DETACHED;
      back = turn(d, true);
    }
    if (back) {
      listener.online(d, false);
    }
  }

  /**
   * {@code s} ended here; it goes offline unless {@code moved} (another node holds it now) or it had
   * gone offline already.
   */
  void remove(Session s, boolean moved) {
    Device gone = null;
    boolean wentOffline = false;
    synchronized (this) {
      Device[] current = of(s.subject);
      for (int i = 0; i < current.length; i++) {
        if (current[i].session == s) {
          gone = current[i];
          if (current.length == 1) {
            byPrincipal.remove(s.subject);
          } else {
            Device[] next = new Device[current.length - 1];
            System.arraycopy(current, 0, next, 0, i);
            System.arraycopy(current, i + 1, next, i, current.length - i - 1);
            byPrincipal.put(s.subject, next);
          }
          wentOffline = turn(gone, false);
          break;
        }
      }
    }
    if (wentOffline && !moved) {
      listener.offline(gone);
    }
  }

  /** The devices whose connection has been down for the grace time at {@code nowNanos} go offline. */
  void sweep(long nowNanos) {
    List<Device> offline = null;
    synchronized (this) {
      Detach head;
      while ((head = detaching.peekFirst()) != null && nowNanos - head.atNanos() >= graceNanos) {
        detaching.removeFirst();
        Device d = head.device();
        if (d.detachedAtNanos != head.atNanos() || !turn(d, false)) {
          continue; // resumed (maybe dropped again: a later entry), or already offline
        }
        if (offline == null) {
          offline = new ArrayList<>();
        }
        offline.add(d);
      }
    }
    if (offline != null) {
      for (Device d : offline) {
        listener.offline(d);
      }
    }
  }

  /** Online device sessions here. */
  long onlineSessions() {
    return onlineSessions;
  }

  /** Principals with at least one online device session here. */
  long onlineUsers() {
    return onlineUsers;
  }

  /**
   * Under the monitor: {@code d} turns online or offline, and the counts follow; false if it already
   * was. {@code d} may have left its principal's array already (it is never counted as another).
   */
  private boolean turn(Device d, boolean on) {
    if (d.online == on) {
      return false;
    }
    d.online = on;
    boolean othersOnline = false;
    for (Device o : of(d.principal)) {
      othersOnline |= o != d && o.online;
    }
    onlineSessions += on ? 1 : -1;
    if (!othersOnline) {
      onlineUsers += on ? 1 : -1;
    }
    return true;
  }

  private Device find(Session s) {
    for (Device d : of(s.subject)) {
      if (d.session == s) {
        return d;
      }
    }
    return null;
  }
}
