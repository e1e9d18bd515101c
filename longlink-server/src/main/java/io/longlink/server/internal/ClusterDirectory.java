package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.SessionStatus;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.Ticker;
import io.longlink.server.DevicePresence;
import io.longlink.server.ServerConfig;
import io.longlink.server.spi.ClusterStore;
import io.netty.util.concurrent.EventExecutorGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's side of the cluster: sessions kept durably in the {@link ClusterStore}, messages
 * numbered there and delivered wherever their client is, resumes on any node.
 *
 * <p>The rule that makes a node's death lose nothing: nothing leaves this node before the store
 * has it. A message goes to a client only once the store numbered it; a client's frame is
 * acknowledged only once its effects (the messages it sent, stored in their targets' logs) and
 * the session's received counter are stored. Delivery is idempotent by origin (sending session and
 * seq), so a client replaying unacknowledged frames on another node stores nothing twice.
 *
 * <p>When the store is unreachable, a node keeps serving its own clients from memory (their
 * sessions turn "dirty" and are written back when the store returns), refuses what needs the
 * store (messages to clients on other nodes get a REJECT, resumes of sessions it does not hold a
 * GOAWAY UNAVAILABLE with a retry delay), and says so on {@code /readyz} and in its metrics.
 */
final class ClusterDirectory implements SessionDirectory, ClusterStore.Listener {
  private static final Logger log = LoggerFactory.getLogger(ClusterDirectory.class);
  private static final int BACKEND_PUBLISH_TIMEOUT_SECONDS = 5;
  /**
   * Messages fetched per catch-up call of a session (one in flight per session): a node receiving
   * 100 k msg/s for one session keeps up with 1,024, fell behind with 256 (docs/BENCHMARKS.md).
   */
  private static final int CATCH_UP_BATCH = 1024;
  /**
   * Sender backpressure: a client's frames waiting for the store beyond this pause reading from its
   * connection until half of them are stored, so a fast sender cannot pile up work (and timeouts)
   * in front of the store.
   */
  static final int MAX_FRAMES_IN_FLIGHT = 1024;

  final ClusterStore store;
  private final LocalSessions sessions;
  private final long retentionMillis;
  private final Ticker ticker;
  private volatile String nodeId = "";
  private final java.util.concurrent.atomic.AtomicBoolean availableFlag = new java.util.concurrent.atomic.AtomicBoolean(true);
  private volatile String unavailableWhy = "";
  private final Set<Session> dirty = ConcurrentHashMap.newKeySet();
  /** Sessions whose log holds acknowledged messages that no trim was due for yet. */
  private final Set<Session> trimLater = ConcurrentHashMap.newKeySet();

  final LongAdder rejected = new LongAdder();
  final LongAdder fenced = new LongAdder();
  final LongAdder restored = new LongAdder();
  final LongAdder claims = new LongAdder();
  final LongAdder storeErrors = new LongAdder();

  private final java.time.Clock clock;
  private final io.longlink.server.DeviceOptions deviceOptions;
  private final PresenceEvents events;
  private volatile ClusterStore.PresenceTotals presenceTotals = new ClusterStore.PresenceTotals(0, 0);

  ClusterDirectory(ClusterStore store, LocalSessions sessions, ServerConfig config, Ticker ticker,
      java.time.Clock clock) {
    this.store = store;
    this.ticker = ticker;
    this.sessions = sessions;
    this.retentionMillis = config.sessionRetention().toMillis();
    this.clock = clock;
    this.deviceOptions = config.devices();
    this.events = new PresenceEvents(config.devices());
    sessions.devices.listen(new Devices.Listener() {
      @Override
      public void online(Devices.Device d, boolean wasOnline) {
        DevicePresence p = PresenceEvents.of(d, nodeId);
        store.online(p, presenceLeaseMillis()).whenComplete((fresh, err) -> {
          if (err != null) {
            unavailable(err); // the device's presence is missing until its next change
          } else if (fresh) {
            publish(PresenceEvents.Kind.ONLINE, p);
          }
        });
      }

      @Override
      public void offline(Devices.Device d) {
        DevicePresence p = PresenceEvents.of(d, nodeId);
        store.offline(p.principal(), p.deviceId(), p.sessionId(), nodeId).whenComplete((was, err) -> {
          if (err != null) {
            unavailable(err); // left to the presence lease of this node
          } else if (was) {
            publish(PresenceEvents.Kind.OFFLINE, p);
          }
        });
      }
    });
  }

  private long presenceLeaseMillis() {
    return deviceOptions.presenceLease().toMillis();
  }

  /** A presence event to the presence topic's subscribers on every node (none when events are off). */
  private void publish(PresenceEvents.Kind kind, DevicePresence p) {
    PresenceEvents.Event e = events.event(kind, p, clock.millis());
    if (e != null) {
      route(null, 0, "", TargetKind.TOPIC, e.topic(), e.payload()).whenComplete((n, err) -> {
        if (err != null) {
          log.warn("presence event {} of {} device {} not published: {}", kind, p.principal(), p.deviceId(),
              unwrap(err).getMessage());
        }
      });
    }
  }

  /** Renews this node's presence lease; the devices of nodes whose lease ran out go offline, one event each. */
  private void renewPresence() {
    store.renewPresence(nodeId, presenceLeaseMillis()).whenComplete((reaped, err) -> {
      if (err != null) {
        unavailable(err);
        return;
      }
      for (DevicePresence p : reaped) {
        log.info("device {} of {} offline: its node {} stopped renewing its presence", p.deviceId(), p.principal(),
            p.node());
        publish(PresenceEvents.Kind.OFFLINE, p);
      }
    });
    store.presenceTotals().whenComplete((t, err) -> {
      if (t != null) {
        presenceTotals = t;
      }
    });
  }

  @Override
  public LocalSessions sessions() {
    return sessions;
  }

  /**
   * The lease on the sessions this node holds: renewed every third of it, and long enough that a
   * client of a node that died finds its session for the whole retention time.
   */
  long leaseMillis() {
    return Math.max(60_000, 3 * retentionMillis);
  }

  @Override
  public void start(String nodeId, EventExecutorGroup loops) {
    this.nodeId = nodeId;
    store.start(nodeId, leaseMillis(), this);
    loops.next().scheduleAtFixedRate(this::restoreDirty, 1, 1, TimeUnit.SECONDS);
    loops.next().scheduleAtFixedRate(this::trimSweep, TrimRule.SWEEP_MILLIS, TrimRule.SWEEP_MILLIS, TimeUnit.MILLISECONDS);
    long renew = leaseMillis() / 3;
    loops.next().scheduleAtFixedRate(this::renewLeases, renew, renew, TimeUnit.MILLISECONDS);
    long presence = presenceLeaseMillis() / 3;
    loops.next().scheduleAtFixedRate(this::renewPresence, 0, presence, TimeUnit.MILLISECONDS);
  }

  /** Renews the lease of every session this node holds attached (detached ones run out their retention). */
  private void renewLeases() {
    long lease = leaseMillis();
    sessions.store.forEach(s -> {
      if (s.shared != null && s.state() == Session.State.ATTACHED) {
        write(s, (cid, epoch) -> store.keepFor(cid, epoch, lease));
        keepDevice(s, lease);
      }
      return true;
    });
  }

  boolean available() {
    return availableFlag.get();
  }

  @Override
  public String unavailableWhy() {
    return available() ? "" : unavailableWhy;
  }

  int dirtySessions() {
    return dirty.size();
  }

  // ---- handshake ----

  @Override
  public CompletionStage<Found> find(String key, String resumeId, String subject, Executor loop) {
    SessionIds id = SessionIds.parse(resumeId);
    if (id == null) {
      return CompletableFuture.completedFuture(new Found.Gone());
    }
    claims.increment();
    return store.claim(key, resumeId).handleAsync((snap, err) -> {
      if (err != null) {
        unavailable(err);
        Session local = sessions.find(key, resumeId);
        if (local != null && local.shared != null) {
          markDirty(local); // this node holds it: resume from memory, write it back later
          return new Found.Resumable(local);
        }
        return new Found.Unavailable("cannot resume session " + resumeId + ": the cluster store is unavailable ("
            + unavailableWhy + ")");
      }
      if (snap == null) {
        return new Found.Gone();
      }
      if (!snap.subject().equals(subject)) {
        return new Found.Refused(ErrorCode.RESUME_REFUSED, "session " + resumeId + " of client "
            + Session.clientIdOf(key) + " belongs to another subject");
      }
      Session local = sessions.find(key, resumeId);
      if (local != null && local.shared != null && nodeId.equals(snap.previousOwner())
          && local.shared.epoch == snap.epoch()) {
        // This node held it all along (the store kept the epoch): its copy is as new as the store's.
        return new Found.Resumable(local);
      }
      if (local != null) {
        after(sessions.moved(local)); // an older copy: the store's is the session now
      }
      Session s = Session.restored(key, id, snap, sessions.replayLimits);
      s.shared = new ClusterState(resumeId, snap.epoch(), snap.lastReceivedSeq());
      register(s);
      keepDevice(s, leaseMillis());
      for (String topic : snap.topics()) {
        subscribeLocally(s, topic);
      }
      // A message stored after the claim's snapshot but woken here before the session was
      // registered found nothing to apply to: fetch what the store numbered since. Without it the
      // last messages before a quiet spell waited for the next one (seen in the drain test).
      catchUp(s);
      return new Found.Resumable(s);
    }, loop);
  }

  @Override
  public CompletionStage<Session> create(Frame.Hello hello, String subject, Connection on) {
    Session s = new Session(Session.keyOf(hello.clientId(), hello.deviceId()), subject, SessionIds.next(), on,
        hello.attemptStamp());
    s.shared = new ClusterState(s.id().toString(), 0, 0);
    keepDevice(s, leaseMillis());
    return store.create(s.key, s.id().toString(), subject).handle((created, err) -> {
      if (err != null) {
        unavailable(err);
        markDirty(s); // runs on this node until the store is back
      } else {
        synchronized (s) {
          s.shared.epoch = created.epoch();
        }
      }
      return s;
    });
  }

  @Override
  public void register(Session s) {
    after(sessions.register(s));
  }

  /** A session ended here: the node leaves the topics it was the last subscriber of. */
  private void after(LocalSessions.Ended ended) {
    if (ended != null && ended.session().shared != null) {
      for (String topic : ended.topicsLeftEmpty()) {
        leaveTopic(topic);
      }
    }
  }

  // ---- inbound: acknowledge only what is stored ----

  /**
   * The client's sequenced frame {@code seq} was accepted; {@code effects} completes when what it
   * asked for is stored (or was rejected). The ACK follows once it and every frame before it are.
   */
  private void track(Session s, long seq, CompletableFuture<?> effects) {
    CompletableFuture<Void> next;
    Connection pause = null;
    synchronized (s) {
      ClusterState cs = s.shared;
      next = CompletableFuture.allOf(cs.inboundTail, effects);
      cs.inboundTail = next;
      cs.accepted = Math.max(cs.accepted, seq);
      if (!cs.readingPaused && cs.accepted - cs.inboundDone > MAX_FRAMES_IN_FLIGHT) {
        cs.readingPaused = true;
        pause = s.connection();
      }
    }
    if (pause != null) {
      pause.readFromClient(false);
    }
    next.whenComplete((v, e) -> inboundDone(s, seq));
  }

  private void inboundDone(Session s, long seq) {
    ClusterState cs = s.shared;
    long persist;
    Connection resume = null;
    synchronized (s) {
      if (seq <= cs.inboundDone) {
        return;
      }
      cs.inboundDone = seq;
      if (cs.readingPaused && cs.accepted - seq <= MAX_FRAMES_IN_FLIGHT / 2) {
        cs.readingPaused = false;
        resume = s.connection();
      }
    }
    if (resume != null) {
      resume.readFromClient(true);
    }
    synchronized (s) {
      if (cs.dirty) {
        cs.ackable = seq; // the node's memory is the only copy for now
        persist = 0;
      } else if (cs.receivedInFlight) {
        return; // the write in flight goes on with the newest when it completes
      } else {
        cs.receivedInFlight = true;
        persist = seq;
      }
    }
    if (persist == 0) {
      ack(s);
    } else {
      persistReceived(s, persist);
    }
  }

  private void persistReceived(Session s, long seq) {
    long epoch;
    synchronized (s) {
      epoch = s.shared.epoch;
    }
    store.received(s.key, epoch, seq).whenComplete((v, err) -> {
      if (settle(s, err)) {
        return;
      }
      long again = 0;
      synchronized (s) {
        ClusterState cs = s.shared;
        cs.receivedInFlight = false;
        cs.ackable = Math.max(cs.ackable, err == null ? seq : cs.inboundDone);
        if (!cs.dirty && cs.inboundDone > seq) {
          cs.receivedInFlight = true;
          again = cs.inboundDone;
        }
      }
      ack(s);
      if (again > 0) {
        persistReceived(s, again);
      }
    });
  }

  private static void ack(Session s) {
    Connection c = s.connection();
    if (c != null) {
      c.acknowledgeStored();
    }
  }

  @Override
  public long ackable(Session s) {
    synchronized (s) {
      return s.shared.ackable;
    }
  }

  // ---- the client's sequenced frames ----

  /**
   * A client's message {@code seq} (routed unless the application's handler consumed it): routed
   * through the store, answered with REJECT if the store could not take it, acknowledged once done.
   */
  @Override
  public void fromClient(Connection from, Session s, Frame.Data d, boolean route) {
    long seq = d.seq();
    CompletableFuture<?> effects = !route ? CompletableFuture.completedFuture(0)
        : route(s, seq, s.clientId(), d.targetKind(), d.target(), d.payload()).handle((n, err) -> {
          if (err != null) {
            rejected.increment();
            Connection c = s.connection();
            if (c != null) {
              c.sendIfOpen(new Frame.Reject(seq, ErrorCode.UNAVAILABLE,
                  Connection.truncate(String.valueOf(unwrap(err).getMessage()))));
            }
          }
          return null;
        });
    track(s, seq, effects);
  }

  /** The client's SUBSCRIBE {@code seq}: stored (if new to the session) before it is acknowledged. */
  @Override
  public void subscribe(Session s, long seq, String topic) {
    track(s, seq, s.addTopic(topic) ? subscribe(s, topic) : CompletableFuture.completedFuture(null));
  }

  @Override
  public void refused(Session s, long seq) {
    track(s, seq, CompletableFuture.completedFuture(null)); // acknowledged in order with what is being stored
  }

  /** The client's UNSUBSCRIBE {@code seq}: stored (if the session had the topic) before it is acknowledged. */
  @Override
  public void unsubscribe(Session s, long seq, String topic) {
    track(s, seq, s.removeTopic(topic) ? unsubscribe(s, topic) : CompletableFuture.completedFuture(null));
  }

  // ---- routing ----

  /**
   * Routes a message (from a client's session {@code sender} and its seq, or from the backend when
   * {@code sender} is null). Completes with how many sessions took it; fails (with the reason) if
   * it could not reach a client or node because the store is unavailable.
   */
  private CompletableFuture<Integer> route(Session sender, long senderSeq, String from, TargetKind kind, String target,
      byte[] payload) {
    ClusterStore.Message m = new ClusterStore.Message(from, kind, target, payload);
    if (kind == TargetKind.CLIENT) {
      return deliverTo(target, m, sender == null ? ClusterStore.Origin.NONE
          : new ClusterStore.Origin(sender.shared.clientOrigin.sessionId(), senderSeq));
    }
    if (kind == TargetKind.USER) {
      // A device session gets nothing by client id, so the sender's client origin is free for it.
      return deliverToDevices(target, m, sender == null ? ClusterStore.Origin.NONE
          : new ClusterStore.Origin(sender.shared.clientOrigin.sessionId(), senderSeq));
    }
    // Topic: the local subscribers here, the other nodes' through their streams.
    ClusterStore.Origin origin = sender == null ? ClusterStore.Origin.NONE
        : new ClusterStore.Origin(sender.shared.topicOrigin.sessionId(), senderSeq);
    CompletableFuture<Integer> local = deliverToSubscribers(target, m, origin);
    CompletableFuture<Integer> remote = store.publish(target, m, origin).toCompletableFuture()
        .exceptionally(err -> {
          unavailable(err);
          throw new CompletionException(new IllegalStateException("cannot reach topic " + target
              + " on other nodes: the cluster store is unavailable (" + unavailableWhy + ")"));
        });
    return local.thenCombine(remote, (a, b) -> a);
  }

  /** A user's message: stored in the log of each of its device sessions, wherever they are. */
  private CompletableFuture<Integer> deliverToDevices(String principal, ClusterStore.Message m,
      ClusterStore.Origin origin) {
    return store.devices(principal).toCompletableFuture().exceptionally(err -> {
      unavailable(err);
      throw new CompletionException(new IllegalStateException("cannot reach user " + principal
          + ": the cluster store is unavailable (" + unavailableWhy + ")"));
    }).thenCompose(keys -> {
      if (keys.isEmpty()) {
        sessions.undeliverable();
        return CompletableFuture.completedFuture(0);
      }
      List<CompletableFuture<Integer>> all = new ArrayList<>(keys.size());
      for (String key : keys) {
        all.add(deliverTo(key, m, origin));
      }
      return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
          .thenApply(v -> all.stream().mapToInt(CompletableFuture::join).sum());
    });
  }

  private CompletableFuture<Integer> deliverToSubscribers(String topic, ClusterStore.Message m,
      ClusterStore.Origin origin) {
    List<CompletableFuture<Integer>> all = new ArrayList<>();
    for (Session s : sessions.topics.subscribers(topic)) {
      all.add(deliverTo(s.key, m, origin));
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .thenApply(v -> all.stream().mapToInt(CompletableFuture::join).sum());
  }

  private CompletableFuture<Integer> deliverTo(String clientId, ClusterStore.Message m, ClusterStore.Origin origin) {
    Session local = sessions.get(clientId);
    if (local != null && local.shared != null && isDirty(local)) {
      return CompletableFuture.completedFuture(offerLocally(local, m) ? 1 : 0);
    }
    return store.deliver(clientId, m, origin).toCompletableFuture().handle((d, err) -> {
      if (err == null) {
        available(true, "");
        if (d.seq() > 0) {
          if (nodeId.equals(d.owner())) {
            applyLocal(clientId, d.seq(), m);
          }
          return 1;
        }
        if (d.seq() == ClusterStore.Delivery.DUPLICATE) {
          return 1;
        }
        if (d.seq() == ClusterStore.Delivery.FULL) {
          if (nodeId.equals(d.owner())) {
            overflowed(clientId);
          } // else its owner is told through its queue
          return 0;
        }
        sessions.undeliverable();
        return 0;
      }
      unavailable(err);
      Session here = sessions.get(clientId);
      if (here != null && here.shared != null) {
        markDirty(here); // local delivery goes on from memory
        return offerLocally(here, m) ? 1 : 0;
      }
      throw new CompletionException(new IllegalStateException("cannot reach client " + clientId
          + ": the cluster store is unavailable (" + unavailableWhy + ")"));
    });
  }

  private boolean offerLocally(Session s, ClusterStore.Message m) {
    return s.offer(Outgoing.of(m), sessions.replayLimits);
  }

  private void applyLocal(String clientId, long seq, ClusterStore.Message m) {
    Session s = sessions.get(clientId);
    if (s == null || s.shared == null) {
      return;
    }
    if (s.applyNumbered(seq, m, sessions.replayLimits) > 0) {
      catchUp(s);
    }
  }

  /** Fetches what the store numbered for {@code s} that this node does not have yet. */
  private void catchUp(Session s) {
    long from;
    synchronized (s) {
      if (s.shared.dirty) {
        return; // written back first; the restore returns what was missed
      }
      if (s.shared.catchingUp) {
        s.shared.wakeAgain = true;
        return;
      }
      s.shared.catchingUp = true;
      from = s.lastSentSeq();
    }
    store.entriesAfter(s.key, from, CATCH_UP_BATCH).whenComplete((entries, err) -> {
      if (err != null) {
        unavailable(err);
      } else {
        for (ClusterStore.Entry e : entries) {
          s.applyNumbered(e.seq(), e.message(), sessions.replayLimits);
        }
      }
      boolean again;
      synchronized (s) {
        s.shared.catchingUp = false;
        again = err == null && (s.shared.wakeAgain || entries.size() == CATCH_UP_BATCH);
        s.shared.wakeAgain = false;
      }
      if (again) {
        catchUp(s);
      }
    });
  }

  // ---- the session's other writes ----

  /**
   * The client acknowledged up to {@code seq}: the store's log is trimmed once {@link TrimRule}
   * says so, and what is left by the next sweep; one trim in flight per session.
   */
  @Override
  public void acknowledged(Session s, long seq) {
    trim(s, seq, false);
  }

  private void trim(Session s, long seq, boolean anyAmount) {
    long epoch;
    long upTo;
    synchronized (s) {
      ClusterState cs = s.shared;
      cs.trimWanted = Math.max(cs.trimWanted, seq);
      if (cs.trimInFlight || cs.dirty || cs.trimWanted <= cs.trimmed) {
        return; // a trim in flight goes on with the newest when it completes; a dirty one is restored whole
      }
      if (!anyAmount && !TrimRule.due(cs.trimmed, cs.trimWanted)) {
        trimLater.add(s);
        return;
      }
      cs.trimInFlight = true;
      epoch = cs.epoch;
      upTo = cs.trimWanted;
    }
    store.acknowledged(s.key, epoch, upTo).whenComplete((v, err) -> {
      if (settle(s, err)) {
        return;
      }
      long again = 0;
      synchronized (s) {
        s.shared.trimInFlight = false;
        if (err == null) {
          s.shared.trimmed = Math.max(s.shared.trimmed, upTo);
        }
        if (s.shared.trimWanted > s.shared.trimmed) {
          again = s.shared.trimWanted;
        }
      }
      if (again > 0) {
        trim(s, again, false);
      }
    });
  }

  /** Trims what acknowledgements left below {@link TrimRule#EVERY}, for every session that has some. */
  private void trimSweep() {
    for (Session s : trimLater) {
      trimLater.remove(s);
      if (s.state() != Session.State.ENDED) {
        trim(s, 0, true);
      }
    }
  }

  /** Subscribes the session here and in the store; completes when stored (or the session went dirty). */
  private CompletableFuture<Void> subscribe(Session s, String topic) {
    boolean first = subscribeLocally(s, topic);
    return write(s, (cid, epoch) -> store.subscribe(cid, epoch, topic, first));
  }

  private boolean subscribeLocally(Session s, String topic) {
    boolean first = sessions.topics.subscribers(topic).isEmpty();
    sessions.topics.subscribe(topic, s);
    return first;
  }

  private CompletableFuture<Void> unsubscribe(Session s, String topic) {
    sessions.topics.unsubscribe(topic, s);
    boolean last = sessions.topics.subscribers(topic).isEmpty();
    return write(s, (cid, epoch) -> store.unsubscribe(cid, epoch, topic, last));
  }

  private void leaveTopic(String topic) {
    store.leaveTopic(topic).whenComplete((v, err) -> {
      if (err != null) {
        unavailable(err); // the other nodes keep sending its messages here; none are lost
      }
    });
  }

  private void detached(Session s) {
    write(s, (cid, epoch) -> store.keepFor(cid, epoch, retentionMillis));
    keepDevice(s, retentionMillis);
  }

  /** A device session stays on its principal's device list as long as its own lease or retention. */
  private void keepDevice(Session s, long millis) {
    if (s.isDevice()) {
      store.keepDevice(s.subject, s.key, clock.millis(), Math.max(1, millis)).whenComplete((v, err) -> {
        if (err != null) {
          unavailable(err);
        }
      });
    }
  }

  // ---- sessions ending ----

  @Override
  public void connectionLost(Session s, Connection c) {
    if (!sessions.detach(s, c, ticker.nanoTime())) {
      return;
    }
    if (!sessions.retains()) {
      end(s, null, false);
      return;
    }
    if (s.shared != null) {
      detached(s);
    }
    for (Session evicted : sessions.retain(s, ticker.nanoTime())) {
      end(evicted, null, false);
    }
  }

  @Override
  public void end(Session s, Connection unless, boolean force) {
    LocalSessions.Ended ended = sessions.end(s, unless, force);
    if (ended != null) {
      after(ended);
      if (s.shared != null) {
        endStored(s);
      }
    }
  }

  /** The session ended on this node: forget its durable copy too (if it is still ours). */
  private void endStored(Session s) {
    dirty.remove(s);
    long epoch;
    synchronized (s) {
      epoch = s.shared.epoch;
    }
    if (s.isDevice()) {
      store.removeDevice(s.subject, s.key);
    }
    store.end(s.key, epoch).whenComplete((v, err) -> {
      if (err != null && !isFenced(err)) {
        unavailable(err);
        log.debug("{}: could not end it in the cluster store (it expires there): {}", s, err.toString());
      }
    });
  }

  private interface Write {
    java.util.concurrent.CompletionStage<Void> to(String clientId, long epoch);
  }

  private CompletableFuture<Void> write(Session s, Write w) {
    long epoch;
    synchronized (s) {
      if (s.shared.dirty) {
        return CompletableFuture.completedFuture(null); // the restore writes it
      }
      epoch = s.shared.epoch;
    }
    return w.to(s.key, epoch).toCompletableFuture().handle((v, err) -> {
      settle(s, err);
      return null;
    });
  }

  /**
   * After an owner-only write: if it was fenced the session moved on (let go of it here; true: stop
   * there); if it failed otherwise the store is unavailable and the session goes on from memory.
   */
  private boolean settle(Session s, Throwable err) {
    if (isFenced(err)) {
      moved(s);
      return true;
    }
    if (err != null) {
      unavailable(err);
      markDirty(s);
    }
    return false;
  }

  // ---- the store's calls ----

  @Override
  public void wake(String clientId) {
    Session s = sessions.get(clientId);
    if (s != null && s.shared != null) {
      catchUp(s);
    }
  }

  @Override
  public void overflowed(String clientId) {
    Session s = sessions.get(clientId);
    Connection c = s == null ? null : s.connection();
    if (c != null) {
      c.replayBufferOverflowed();
    }
  }

  @Override
  public void moved(String clientId, String sessionId) {
    Session s = sessions.find(clientId, sessionId);
    if (s != null && s.shared != null) {
      moved(s);
    }
  }

  /** The session moved to another node (or was replaced): let go of it here without touching the store. */
  private void moved(Session s) {
    fenced.increment();
    Connection c = s.connection();
    log.debug("{} moved to another node; ending it here", s);
    after(sessions.moved(s));
    dirty.remove(s);
    if (c != null) {
      c.goAway(ErrorCode.REPLACED, "session " + s.id() + " moved to another node");
    }
  }

  @Override
  public void topicMessage(String topic, ClusterStore.Message message, ClusterStore.Origin origin, Runnable done) {
    deliverToSubscribers(topic, message, origin).whenComplete((n, err) -> {
      if (err == null) {
        done.run();
      }
    });
  }

  @Override
  public void availability(boolean up, String why) {
    available(up, why);
  }

  private void available(boolean up, String why) {
    if (up) {
      // Called on every delivery: read first, so the usual case writes nothing to the shared flag.
      if (!availableFlag.get() && availableFlag.compareAndSet(false, true)) {
        unavailableWhy = "";
        log.info("cluster store reachable again; writing back {} sessions kept locally", dirty.size());
        restoreDirty();
      }
    } else {
      unavailableWhy = why;
      if (availableFlag.compareAndSet(true, false)) {
        log.warn("cluster store unavailable: {}; serving local clients from memory", why);
      }
    }
  }

  private void unavailable(Throwable err) {
    storeErrors.increment();
    Throwable cause = unwrap(err);
    available(false, cause.getClass().getSimpleName() + ": " + cause.getMessage());
  }

  /** The failure itself, not the {@link CompletionException} a dependent stage wrapped it in. */
  private static Throwable unwrap(Throwable err) {
    return err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
  }

  // ---- dirty sessions ----

  private static boolean isDirty(Session s) {
    synchronized (s) {
      return s.shared.dirty;
    }
  }

  private void markDirty(Session s) {
    synchronized (s) {
      if (s.shared.dirty) {
        return;
      }
      s.shared.dirty = true;
      s.shared.storeSeqAtDirty = s.lastSentSeq();
      s.shared.ackable = Math.max(s.shared.ackable, s.shared.inboundDone);
    }
    dirty.add(s);
  }

  /** Writes back every session kept locally while the store was away. Also called periodically. */
  private void restoreDirty() {
    if (!availableFlag.get()) {
      return;
    }
    for (Session s : dirty) {
      restore(s);
    }
  }

  private void restore(Session s) {
    ClusterStore.Snapshot snap;
    long known;
    synchronized (s) {
      if (s.state() == Session.State.ENDED) {
        dirty.remove(s);
        return;
      }
      snap = s.snapshot(s.shared.epoch);
      known = s.shared.storeSeqAtDirty;
    }
    store.restore(s.key, s.id().toString(), snap.epoch(), known, snap).whenComplete((r, err) -> {
      if (isFenced(err)) {
        moved(s);
        return;
      }
      if (err != null) {
        unavailable(err);
        return; // still dirty: tried again when the store answers
      }
      boolean detachedNow;
      synchronized (s) {
        s.shared.epoch = r.epoch();
        s.shared.dirty = false;
        detachedNow = s.state() == Session.State.DETACHED;
      }
      dirty.remove(s);
      restored.increment();
      for (ClusterStore.Entry e : r.renumbered()) {
        s.applyNumbered(e.seq(), e.message(), sessions.replayLimits);
      }
      for (String topic : snap.topics()) {
        write(s, (cid, epoch) -> store.subscribe(cid, epoch, topic, true));
      }
      if (detachedNow) {
        detached(s);
      }
      catchUp(s);
    });
  }

  private static boolean isFenced(Throwable err) {
    Throwable t = err;
    while (t != null) {
      if (t instanceof ClusterStore.FencedException) {
        return true;
      }
      t = t.getCause();
    }
    return false;
  }

  // ---- the backend ----

  @Override
  public int publish(String from, TargetKind kind, String target, byte[] payload) {
    try {
      return route(null, 0, from, kind, target, payload).get(BACKEND_PUBLISH_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("the cluster store did not answer within " + BACKEND_PUBLISH_TIMEOUT_SECONDS
          + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while publishing", e);
    }
  }

  // ---- devices ----

  @Override
  public CompletionStage<Admission> admitDevice(String principal, String key) {
    return store.countDevices(principal, key).handle((count, err) -> {
      if (err != null) {
        unavailable(err); // the limit cannot be checked cluster-wide: count this node's sessions only
        return Admission.decide(deviceOptions, principal, sessions.devices.count(principal, key), () -> {
          Session s = sessions.devices.oldest(principal, key);
          return s == null ? null : s.key;
        });
      }
      return Admission.decide(deviceOptions, principal, count.others(), count::oldestKey);
    });
  }

  @Override
  public void endOldest(Admission.EndOldest e) {
    if (sessions.get(e.key()) != null) {
      SessionDirectory.super.endOldest(e); // held here: ended here, its device offline as any ending
      return;
    }
    store.evict(e.key()).whenComplete((ended, err) -> {
      if (err != null) {
        unavailable(err);
        return;
      }
      if (ended == null) {
        return;
      }
      store.removeDevice(e.principal(), e.key());
      String device = Session.deviceIdOf(e.key());
      store.offline(e.principal(), device, ended.sessionId(), ended.owner()).whenComplete((was, err2) -> {
        if (Boolean.TRUE.equals(was)) {
          publish(PresenceEvents.Kind.OFFLINE, new DevicePresence(e.principal(), device, Session.clientIdOf(e.key()),
              ended.sessionId(), ended.owner(), java.time.Instant.ofEpochMilli(clock.millis())));
        }
      });
    });
  }

  @Override
  public CompletionStage<List<DevicePresence>> presence(String principal) {
    return store.presence(principal);
  }

  @Override
  public PresenceCounts presenceCounts() {
    ClusterStore.PresenceTotals t = presenceTotals;
    return new PresenceCounts(sessions.devices.onlineSessions(), sessions.devices.onlineUsers(), t.sessions(), t.users());
  }

  @Override
  public void close() {
    store.close();
  }
}
