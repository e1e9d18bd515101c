package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.Ticker;
import io.netty.util.concurrent.EventExecutorGroup;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single node's sessions: in memory only, every answer at once. Sessions are numbered and
 * acknowledged here; a client sending to one slower client is held back ({@link
 * SenderBackpressure}). Thread-safe.
 */
final class LocalDirectory implements SessionDirectory {
  private static final Logger log = LoggerFactory.getLogger(LocalDirectory.class);

  private final LocalSessions sessions;
  private final SenderBackpressure backpressure;
  private final Ticker ticker;

  private final PresenceEvents events;
  private final java.time.Clock clock;
  private final io.longlink.server.DeviceOptions deviceOptions;
  private volatile String nodeId = "";

  LocalDirectory(LocalSessions sessions, NodeCounters counters, Ticker ticker, io.longlink.server.ServerConfig config,
      java.time.Clock clock) {
    this.sessions = sessions;
    this.backpressure = new SenderBackpressure(sessions.replayLimits, counters.senderPauses);
    this.ticker = ticker;
    this.clock = clock;
    this.deviceOptions = config.devices();
    this.events = new PresenceEvents(config.devices());
    sessions.devices.listen(new Devices.Listener() {
      @Override
      public void online(Devices.Device d, boolean wasOnline) {
        if (!wasOnline) {
          publish(PresenceEvents.Kind.ONLINE, d);
        }
      }

      @Override
      public void offline(Devices.Device d) {
        publish(PresenceEvents.Kind.OFFLINE, d);
      }
    });
  }

  private void publish(PresenceEvents.Kind kind, Devices.Device d) {
    PresenceEvents.Event e = events.event(kind, PresenceEvents.of(d, nodeId), clock.millis());
    if (e != null) {
      sessions.deliver("", TargetKind.TOPIC, e.topic(), e.payload());
    }
  }

  @Override
  public CompletionStage<Admission> admitDevice(String principal, String key) {
    return CompletableFuture.completedFuture(
        Admission.decide(deviceOptions, principal, sessions.devices.count(principal, key),
            () -> oldestKey(principal, key)));
  }

  private String oldestKey(String principal, String key) {
    Session s = sessions.devices.oldest(principal, key);
    return s == null ? null : s.key;
  }

  @Override
  public CompletionStage<java.util.List<io.longlink.server.DevicePresence>> presence(String principal) {
    java.util.List<io.longlink.server.DevicePresence> out = new java.util.ArrayList<>();
    for (Devices.Device d : sessions.devices.of(principal)) {
      if (d.online()) {
        out.add(PresenceEvents.of(d, nodeId));
      }
    }
    return CompletableFuture.completedFuture(out);
  }

  @Override
  public PresenceCounts presenceCounts() {
    long sessionsHere = sessions.devices.onlineSessions();
    long usersHere = sessions.devices.onlineUsers();
    return new PresenceCounts(sessionsHere, usersHere, sessionsHere, usersHere);
  }

  @Override
  public LocalSessions sessions() {
    return sessions;
  }

  @Override
  public CompletionStage<Found> find(String key, String sessionId, String subject, Executor loop) {
    Session old = sessions.find(key, sessionId);
    if (old == null) {
      return CompletableFuture.completedFuture(new Found.Gone());
    }
    if (!old.subject.equals(subject)) {
      log.warn("client {} (subject {}) tried to resume {}, owned by subject {}; refused", Session.clientIdOf(key),
          subject, old, old.subject);
      return CompletableFuture.completedFuture(new Found.Refused(ErrorCode.RESUME_REFUSED,
          "session " + sessionId + " of client " + Session.clientIdOf(key) + " belongs to another subject"));
    }
    return CompletableFuture.completedFuture(new Found.Resumable(old));
  }

  @Override
  public CompletionStage<Session> create(Frame.Hello hello, String subject, Connection on) {
    return CompletableFuture.completedFuture(
        new Session(Session.keyOf(hello.clientId(), hello.deviceId()), subject, SessionIds.next(), on,
            hello.attemptStamp()));
  }

  @Override
  public void register(Session s) {
    after(sessions.register(s));
  }

  @Override
  public void fromClient(Connection from, Session s, Frame.Data d, boolean route) {
    if (!route) {
      return;
    }
    if (d.targetKind() != TargetKind.CLIENT) { // a topic's subscribers, a user's devices: no sender backpressure
      sessions.deliver(s.clientId(), d.targetKind(), d.target(), d.payload());
      return;
    }
    Session to = sessions.offerToClient(s.clientId(), d.target(), d.payload());
    if (to != null) {
      backpressure.sent(from, to);
    }
  }

  @Override
  public void subscribe(Session s, long seq, String topic) {
    if (s.addTopic(topic)) {
      sessions.topics.subscribe(topic, s);
    }
  }

  @Override
  public void refused(Session s, long seq) {
    // Nothing kept: acknowledged with the next ACK like any other.
  }

  @Override
  public void unsubscribe(Session s, long seq, String topic) {
    if (s.removeTopic(topic)) {
      sessions.topics.unsubscribe(topic, s);
    }
  }

  @Override
  public void acknowledged(Session s, long seq) {
    backpressure.drainedSome(s);
  }

  @Override
  public long ackable(Session s) {
    return s.lastReceivedSeq();
  }

  @Override
  public void connectionLost(Session s, Connection c) {
    if (!sessions.detach(s, c, ticker.nanoTime())) {
      return;
    }
    if (!sessions.retains()) {
      end(s, null, false);
      return;
    }
    for (Session evicted : sessions.retain(s, ticker.nanoTime())) {
      end(evicted, null, false);
    }
  }

  @Override
  public void end(Session s, Connection unless, boolean force) {
    after(sessions.end(s, unless, force));
  }

  private void after(LocalSessions.Ended ended) {
    if (ended != null) {
      backpressure.drainedSome(ended.session());
    }
  }

  @Override
  public int publish(String from, TargetKind kind, String target, byte[] payload) {
    return sessions.deliver(from, kind, target, payload);
  }

  @Override
  public void start(String nodeId, EventExecutorGroup loops) {
    this.nodeId = nodeId; // nothing shared to join
  }

  @Override
  public String unavailableWhy() {
    return "";
  }

  @Override
  public void close() {
    // nothing held outside memory
  }
}
