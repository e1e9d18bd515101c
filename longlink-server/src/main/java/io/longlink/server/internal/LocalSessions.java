package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.TargetKind;
import io.longlink.server.ServerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sessions and topic subscriptions a node holds in memory, one session per client id, and the
 * bounds of their replay buffers: the part of session bookkeeping both directories share (a cluster
 * node keeps its sessions here too, their durable copies in the store). Passive: it says what
 * happened ({@link Ended}) and the directory decides what follows. Thread-safe.
 */
final class LocalSessions {
  private static final Logger log = LoggerFactory.getLogger(LocalSessions.class);
  /** Probe sessions' client ids start with a control character, which no real client id may contain. */
  static final String PROBE_PREFIX = "\u0001probe-";
  private static final byte[] PROBE_PAYLOAD = {'p', 'r', 'o', 'b', 'e'};

  final SessionStore store;
  final TopicRegistry topics = new TopicRegistry();
  /** The device sessions (protocol version 3) by principal, and their presence here. */
  final Devices devices;
  final Session.ReplayLimits replayLimits;
  private final NodeCounters counters;
  private final long retentionMillis;
  private final AtomicLong probes = new AtomicLong();
  private final java.time.Clock clock;

  /** A session that ended here, and the topics it left without a subscriber on this node. */
  record Ended(Session session, List<String> topicsLeftEmpty) {}

  LocalSessions(ServerConfig config, NodeCounters counters, java.time.Clock clock) {
    this.counters = counters;
    this.clock = clock;
    this.devices = new Devices(config.devices().presenceGrace().toNanos());
    this.retentionMillis = config.sessionRetention().toMillis();
    this.store = new InMemorySessionStore(config.sessionRetention().toNanos(), config.maxDetachedSessions(),
        config.maxDetachedBytes());
    this.replayLimits = new Session.ReplayLimits(config.replayBufferMessages(), config.replayBufferBytes(),
        config.slowConsumerPolicy() == ServerConfig.SlowConsumerPolicy.DROP_OLDEST);
  }

  /** True if sessions are kept for resume at all ({@code --session-retention} above zero). */
  boolean retains() {
    return retentionMillis > 0;
  }

  /**
   * Makes {@code s} the session of its client id here; the session it replaces is ended here and its
   * connection told GOAWAY REPLACED.
   *
   * @return the replaced session's end, or {@code null} if it replaced none
   */
  Ended register(Session s) {
    Session old = store.register(s);
    if (s.isDevice()) {
      devices.add(s, clock.millis()); // before the replaced one ends: the device stays online
    }
    if (old == null || old == s) {
      return null;
    }
    Connection oldConnection = old.connection();
    Ended ended = end(old, null, true);
    if (oldConnection != null) {
      oldConnection.goAway(ErrorCode.REPLACED, "client " + s.clientId() + " logged in on another connection");
    }
    return ended;
  }

  /**
   * Ends {@code s} here unless a connection other than {@code unless} holds it (when not {@code
   * force}): unsubscribes it and forgets it.
   *
   * @return what ended, or {@code null} if nothing did
   */
  Ended end(Session s, Connection unless, boolean force) {
    return end(s, unless, force, false);
  }

  /** Ends {@code s} here because another node holds it now: unlike {@link #end}, its device stays online. */
  Ended moved(Session s) {
    return end(s, null, true, true);
  }

  private Ended end(Session s, Connection unless, boolean force, boolean moved) {
    Set<String> topicsOf = s.end(unless, force, replayLimits);
    if (topicsOf == null) {
      return null;
    }
    store.remove(s);
    if (s.isDevice()) {
      devices.remove(s, moved);
    }
    List<String> empty = List.of();
    for (String topic : topicsOf) {
      topics.unsubscribe(topic, s);
      if (topics.subscribers(topic).isEmpty()) {
        if (empty.isEmpty()) {
          empty = new ArrayList<>(2);
        }
        empty.add(topic);
      }
    }
    return new Ended(s, empty);
  }

  /** {@code c} dropped; true if it held {@code s}, which is now DETACHED (and holds no empty buffer). */
  boolean detach(Session s, Connection c, long nowNanos) {
    if (!s.detach(c)) {
      return false; // already resumed elsewhere, or ended
    }
    if (s.isDevice()) {
      devices.detached(s, nowNanos);
    }
    Lifecycle.detached(s.clientId(), s.id());
    s.releaseIdleBuffer();
    return true;
  }

  /** Keeps a detached {@code s} for its retention time; returns the sessions evicted to stay within bounds (to end). */
  List<Session> retain(Session s, long nowNanos) {
    List<Session> evicted = store.detached(s, nowNanos);
    for (Session e : evicted) {
      counters.sessionsEvicted.increment();
      log.debug("{} evicted to keep detached sessions within bounds", e);
    }
    return evicted;
  }

  /** Takes the detached sessions whose retention ran out at {@code nowNanos} (to end). */
  List<Session> expire(long nowNanos) {
    List<Session> expired = store.expire(nowNanos);
    for (Session s : expired) {
      counters.sessionsExpired.increment();
      log.debug("{} expired after {} ms detached", s, retentionMillis);
    }
    return expired;
  }

  /** Hands a message to a client's session here; the session, or {@code null} if it has none. */
  Session offerToClient(String from, String target, byte[] payload) {
    Session s = store.get(target);
    if (s != null && s.offer(new Outgoing(from, TargetKind.CLIENT, target, payload, false), replayLimits)) {
      return s;
    }
    undeliverable();
    return null;
  }

  /** A message found no session for its client id. */
  void undeliverable() {
    counters.undeliverable.increment();
  }

  /** Delivers a message to a client's session or a topic's subscribers on this node; how many took it. */
  int deliver(String from, TargetKind kind, String target, byte[] payload) {
    return switch (kind) {
      case CLIENT -> offerToClient(from, target, payload) != null ? 1 : 0;
      case TOPIC -> toSubscribers(from, target, payload);
      case USER -> toDevices(from, target, payload);
    };
  }

  /** Hands a message to every device session of {@code principal} here, each in its own sequence; how many took it. */
  int toDevices(String from, String principal, byte[] payload) {
    Devices.Device[] ds = devices.of(principal);
    if (ds.length == 0) {
      undeliverable();
      return 0;
    }
    Outgoing message = new Outgoing(from, TargetKind.USER, principal, payload, ds.length > 1);
    int n = 0;
    for (Devices.Device d : ds) {
      if (d.session.offer(message, replayLimits)) {
        n++;
      }
    }
    return n;
  }

  private int toSubscribers(String from, String target, byte[] payload) {
    TargetKind kind = TargetKind.TOPIC;
    int n = 0;
    Outgoing message = null; // encoded once for all subscribers
    Set<Session> subscribers = topics.subscribers(target);
    for (Session s : subscribers) {
      if (message == null) {
        message = new Outgoing(from, kind, target, payload, subscribers.size() > 1);
      }
      if (s.offer(message, replayLimits)) {
        n++;
      }
    }
    return n;
  }

  /**
   * The data path works: a message routed by client id through this node's store reaches a local
   * probe session's replay buffer. The probe session exists only for the call.
   */
  boolean probe() {
    String id = PROBE_PREFIX + probes.incrementAndGet();
    Session probe = new Session(id, id, SessionIds.next(), null, 0);
    if (store.register(probe) != null) {
      return false; // cannot happen: no client id can collide
    }
    try {
      return deliver("", TargetKind.CLIENT, id, PROBE_PAYLOAD) == 1 && probe.bufferedMessages() == 1;
    } finally {
      end(probe, null, true);
    }
  }

  Session get(String clientId) {
    return store.get(clientId);
  }

  /** The session of {@code clientId} if its id is {@code sessionId}, else {@code null}. */
  Session find(String clientId, String sessionId) {
    return store.find(clientId, sessionId);
  }

  /** Visits the sessions until {@code visitor} returns false; readiness probes are not visited. */
  void forEachClient(Predicate<Session> visitor) {
    store.forEach(s -> s.key.startsWith(PROBE_PREFIX) || visitor.test(s));
  }
}
