package io.longlink.server;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.Ticker;
import io.longlink.server.spi.ClusterStore;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every connection of a node shares: settings, plug-ins, the session store, the topic
 * registry, and routing between them. Thread-safe.
 */
final class Gateway {
  private static final Logger log = LoggerFactory.getLogger(Gateway.class);

  final ServerConfig config;
  final Authenticator authenticator;
  final MessageHandler messageHandler;
  final Ticker ticker;
  final TopicRegistry topics = new TopicRegistry();
  final SessionStore store;
  final Session.ReplayLimits replayLimits;
  final long deadPeerTimeoutNanos;
  final long handshakeTimeoutNanos;
  /** Messages to a client id with no session. */
  final LongAdder undeliverable = new LongAdder();
  /** Open connections, handshaking or not. */
  final LongAdder connections = new LongAdder();
  final LongAdder resumed = new LongAdder();
  final LongAdder resumesLost = new LongAdder();
  final LongAdder sessionsExpired = new LongAdder();
  final LongAdder sessionsEvicted = new LongAdder();
  /** Connection closes by reason. */
  final java.util.EnumMap<CloseReason, LongAdder> closes = adders(CloseReason.class);
  /** Logins and resumes that succeeded, by the session status the client got. */
  final java.util.EnumMap<io.longlink.protocol.SessionStatus, LongAdder> handshakesOk =
      adders(io.longlink.protocol.SessionStatus.class);
  /** HELLOs answered with ERROR or GOAWAY, by code. */
  final java.util.EnumMap<ErrorCode, LongAdder> handshakesFailed = adders(ErrorCode.class);
  /** GOAWAYs sent to clients with an open session, by code. */
  final java.util.EnumMap<ErrorCode, LongAdder> goAways = adders(ErrorCode.class);
  /** HELLOs asking to resume a session: clients coming back after a broken connection. */
  final LongAdder resumeAttempts = new LongAdder();
  final LongAdder messagesIn = new LongAdder();
  final LongAdder messagesOut = new LongAdder();
  final LongAdder bytesIn = new LongAdder();
  final LongAdder bytesOut = new LongAdder();
  /** Connection writes gathered into an event loop's write pass ({@link WriteCoalescer}). */
  final LongAdder coalescedWrites = new LongAdder();
  /** Round trips of the gateway's sampled PINGs; set by {@link LonglinkServer} (a Micrometer timer). */
  volatile java.util.function.LongConsumer heartbeatRttNanos = nanos -> {};
  /** When the node was made: connection ages are counted from here, in seconds, to fit an int. */
  final long startNanos;
  final long startEpochMillis = System.currentTimeMillis();

  private static <E extends Enum<E>> java.util.EnumMap<E, LongAdder> adders(Class<E> type) {
    java.util.EnumMap<E, LongAdder> m = new java.util.EnumMap<>(type);
    for (E e : type.getEnumConstants()) {
      m.put(e, new LongAdder());
    }
    return m;
  }

  /** Refusals per bound. */
  final java.util.EnumMap<Limits.Limit, LongAdder> limitHits = new java.util.EnumMap<>(Limits.Limit.class);
  final AddressLimiter addresses;
  /** Admission control for logins and resumes; {@code null} when off. Guarded by itself. */
  private final TokenBucket handshakes;

  final RequestDispatcher requests;
  /** The cluster's shared sessions and routing; {@code null} on a single node. */
  final ClusterRouting cluster;

  Gateway(ServerConfig config, Authenticator authenticator, MessageHandler messageHandler, RequestHandler requestHandler,
      Ticker ticker, ClusterStore clusterStore) {
    this.config = config;
    this.cluster = clusterStore == null ? null : new ClusterRouting(clusterStore, this);
    this.authenticator = authenticator;
    this.messageHandler = messageHandler;
    this.ticker = ticker;
    this.startNanos = ticker.nanoTime();
    this.deadPeerTimeoutNanos = config.deadPeerTimeout().toNanos();
    this.handshakeTimeoutNanos = config.handshakeTimeout().toNanos();
    this.store = new InMemorySessionStore(config.sessionRetention().toNanos(), config.maxDetachedSessions(),
        config.maxDetachedBytes());
    this.requests = new RequestDispatcher(requestHandler, config.maxRequestsInFlight(), System::currentTimeMillis, store);
    this.replayLimits = new Session.ReplayLimits(config.replayBufferMessages(), config.replayBufferBytes(),
        config.slowConsumerPolicy() == ServerConfig.SlowConsumerPolicy.DROP_OLDEST);
    for (Limits.Limit l : Limits.Limit.values()) {
      limitHits.put(l, new LongAdder());
    }
    Limits l = config.limits();
    this.handshakes = l.maxHandshakesPerSecond() == 0 ? null
        : new TokenBucket(l.maxHandshakesPerSecond(), l.handshakeBurst(), ticker.nanoTime());
    this.addresses = new AddressLimiter(config.limits().maxConnectionsPerAddress(),
        config.limits().maxNewConnectionsPerSecondPerAddress());
  }

  /** Probe sessions' client ids start with a control character, which no real client id may contain. */
  private static final String PROBE_PREFIX = "\u0001probe-";
  private static final byte[] PROBE_PAYLOAD = {'p', 'r', 'o', 'b', 'e'};
  private final java.util.concurrent.atomic.AtomicLong probes = new java.util.concurrent.atomic.AtomicLong();

  /**
   * The data path works: a message routed by client id through this node's store and routing
   * reaches a local probe session's replay buffer. The probe session exists only for the call.
   */
  boolean probeDataPath() {
    String id = PROBE_PREFIX + probes.incrementAndGet();
    Session probe = new Session(id, id, SessionIds.next(), null, 0);
    if (store.register(probe) != null) {
      return false; // cannot happen: no client id can collide
    }
    try {
      return routeLocally("", TargetKind.CLIENT, id, PROBE_PAYLOAD) == 1 && probe.bufferedMessages() == 1;
    } finally {
      end(probe, null, true);
    }
  }

  /**
   * A reconnect delay drawn uniformly from {@code [0, window]} (capped at the wire's int): how drain,
   * load shedding and admission control keep clients they send away from returning in step.
   */
  static int spreadDelayMillis(long windowMillis) {
    return windowMillis <= 0 ? 0
        : (int) Math.min(Integer.MAX_VALUE, java.util.concurrent.ThreadLocalRandom.current().nextLong(windowMillis + 1));
  }

  /** Takes a handshake token; false: the node is at its login rate and the client must come back later. */
  boolean admitHandshake() {
    if (handshakes == null) {
      return true;
    }
    synchronized (handshakes) {
      return handshakes.tryTake(ticker.nanoTime());
    }
  }

  /** A new session for a client logging in on {@code connection}; ends the one it replaces. */
  Session newSession(String clientId, String subject, ServerConnection connection, long attemptStamp) {
    Session s = new Session(clientId, subject, SessionIds.next(), connection, attemptStamp);
    register(s);
    return s;
  }

  /** Makes {@code s} the session of its client id on this node; ends the one it replaces here. */
  void register(Session s) {
    Session old = store.register(s);
    if (old != null && old != s) {
      ServerConnection oldConnection = old.connection();
      endLocally(old);
      if (oldConnection != null) {
        oldConnection.goAwayFromAnyThread(ErrorCode.REPLACED, "client " + s.clientId + " logged in on another connection");
      }
    }
  }

  /**
   * Ends a session (unless another connection than {@code unless} holds it, when not forced):
   * unsubscribes it and forgets it.
   */
  void end(Session s, ServerConnection unless, boolean force) {
    if (endLocally(s, unless, force) && s.shared != null) {
      cluster.end(s);
    }
  }

  /** Ends a session on this node only (it moved on in the cluster, or was replaced there). */
  void endLocally(Session s) {
    endLocally(s, null, true);
  }

  private boolean endLocally(Session s, ServerConnection unless, boolean force) {
    Set<String> topicsOf = s.end(unless, force, replayLimits);
    if (topicsOf == null) {
      return false;
    }
    store.remove(s);
    drainedSome(s);
    for (String topic : topicsOf) {
      topics.unsubscribe(topic, s);
      if (s.shared != null && topics.subscribers(topic).isEmpty()) {
        cluster.leaveTopic(topic);
      }
    }
    return true;
  }

  /** {@code connection} dropped without CLOSE: keep the session for resume, or end it. */
  void connectionLost(Session s, ServerConnection connection) {
    if (!s.detach(connection)) {
      return; // already resumed elsewhere, or ended
    }
    Lifecycle.detached(s.clientId, s.id());
    s.releaseIdleBuffer();
    if (config.sessionRetention().isZero()) {
      end(s, null, false);
      return;
    }
    if (s.shared != null) {
      cluster.detached(s);
    }
    for (Session evicted : store.detached(s, ticker.nanoTime())) {
      sessionsEvicted.increment();
      log.debug("{} evicted to keep detached sessions within bounds", evicted);
      end(evicted, null, false);
    }
  }

  /** Ends detached sessions whose retention ran out. Called periodically. */
  void expireDetached(long nowNanos) {
    List<Session> expired = store.expire(nowNanos);
    for (Session s : expired) {
      sessionsExpired.increment();
      log.debug("{} expired after {} ms detached", s, config.sessionRetention().toMillis());
      end(s, null, false);
    }
  }

  /**
   * Delivers a message to a client's session or to a topic's subscribers.
   *
   * @param from sender's client id, empty for the backend
   * @return how many sessions took it
   */
  int route(String from, TargetKind kind, String target, byte[] payload) {
    if (cluster != null) {
      try {
        return cluster.route(null, 0, from, kind, target, payload).get(BACKEND_PUBLISH_TIMEOUT_SECONDS,
            java.util.concurrent.TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
      } catch (java.util.concurrent.TimeoutException e) {
        throw new IllegalStateException("the cluster store did not answer within " + BACKEND_PUBLISH_TIMEOUT_SECONDS
            + " s", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while publishing", e);
      }
    }
    return routeLocally(from, kind, target, payload);
  }

  private static final int BACKEND_PUBLISH_TIMEOUT_SECONDS = 5;

  /** Hands a message to a client's session; the session, or {@code null} if it has none. */
  private Session offerToClient(String from, String target, byte[] payload) {
    Session s = store.get(target);
    if (s != null && s.offer(new Outgoing(from, TargetKind.CLIENT, target, payload, false), replayLimits)) {
      return s;
    }
    undeliverable.increment();
    return null;
  }

  /**
   * Routes a client's message on a single node and holds the sender back while the recipient (one
   * client) has more than half its buffer unacknowledged: the sender's connection stops reading
   * until the recipient is down to a quarter. A sender cannot outrun its receiver into a lost
   * session; a topic's subscribers are not waited for (one slow subscriber must not stop a topic).
   */
  void routeFromClient(ServerConnection sender, String from, TargetKind kind, String target, byte[] payload) {
    if (kind != TargetKind.CLIENT) {
      routeLocally(from, kind, target, payload);
      return;
    }
    Session to = offerToClient(from, target, payload);
    if (to == null || !to.backlogged(replayLimits)) {
      return;
    }
    senderPauses.increment();
    sender.readFromClient(false); // first: a release from now on finds it paused and lets it go
    waitingFor.compute(to, (k, waiting) -> { // atomic with release's remove: never into a set already let go
      Set<ServerConnection> w = waiting != null ? waiting : ConcurrentHashMap.newKeySet();
      w.add(sender);
      return w;
    });
    if (to.drained(replayLimits)) {
      release(to); // drained between the check and the registration
    }
  }

  /** Connections not reading until a recipient's buffer drains. Empty unless a receiver lags. */
  private final ConcurrentHashMap<Session, Set<ServerConnection>> waitingFor = new ConcurrentHashMap<>();
  /** Times a sender was held back for a lagging recipient. */
  final LongAdder senderPauses = new LongAdder();

  /** {@code s} acknowledged messages (or ended): senders held back for it go on once it drained. */
  void drainedSome(Session s) {
    if (!waitingFor.isEmpty() && waitingFor.containsKey(s) && s.drained(replayLimits)) {
      release(s);
    }
  }

  private void release(Session s) {
    Set<ServerConnection> waiting = waitingFor.remove(s);
    if (waiting != null) {
      for (ServerConnection c : waiting) {
        c.readFromClient(true);
      }
    }
  }

  /** {@link #route} among this node's sessions only (a single node, and the readiness probe). */
  int routeLocally(String from, TargetKind kind, String target, byte[] payload) {
    if (kind == TargetKind.CLIENT) {
      return offerToClient(from, target, payload) != null ? 1 : 0;
    }
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
}
