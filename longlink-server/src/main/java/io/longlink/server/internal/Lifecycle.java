package io.longlink.server.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The lifecycle of connections and sessions, told twice: one log line per event on the
 * {@code longlink.lifecycle} logger at INFO (with key-value pairs: {@code event}, {@code clientId},
 * {@code sessionId}, {@code remote}, and per event {@code reason}, {@code durationMs}, ...; JSON
 * fields under {@code --log-format json}), and a JFR event ({@code longlink.*}) for recordings
 * taken with {@code jcmd <pid> JFR.start}. Never per message. Both are skipped cheaply when off.
 */
final class Lifecycle {
  private static final Logger log = LoggerFactory.getLogger("longlink.lifecycle");

  private Lifecycle() {}

  /** What every lifecycle event carries: who and from where (fields are null where unknown). */
  abstract static class SessionEvent extends Event {
    @Label("Client id")
    String clientId;
    @Label("Session id")
    String sessionId;
    @Label("Remote address")
    String remote;

    /** Fills in who (formatted only now that a recording wants it) and commits. */
    final void commit(String clientId, Object sessionId, Object remote) {
      this.clientId = clientId;
      this.sessionId = sessionId == null ? null : sessionId.toString();
      this.remote = remote == null ? null : remote.toString();
      commit();
    }
  }

  @Name("longlink.Connected")
  @Label("Connection accepted")
  @Category("longlink")
  static final class Connected extends SessionEvent {}

  @Name("longlink.Authenticated")
  @Label("Session opened")
  @Description("A login: a new session, or a fresh one after the old was lost")
  @Category("longlink")
  static final class Authenticated extends SessionEvent {
    @Label("Session status")
    String status;
  }

  @Name("longlink.Resumed")
  @Label("Session resumed")
  @Category("longlink")
  static final class Resumed extends SessionEvent {
    @Label("Messages replayed")
    long replayed;
  }

  @Name("longlink.SessionLost")
  @Label("Session lost")
  @Description("A client asked to resume a session the node no longer has (sessionId: the lost one)")
  @Category("longlink")
  static final class SessionLost extends SessionEvent {
    @Label("Messages lost")
    long lostMessages;
  }

  @Name("longlink.HeartbeatMissed")
  @Label("Heartbeat missed")
  @Category("longlink")
  static final class HeartbeatMissed extends SessionEvent {
    @Timespan(Timespan.MILLISECONDS)
    long silentMs;
  }

  @Name("longlink.Detached")
  @Label("Session detached")
  @Description("The session's connection went away; it is kept for resume")
  @Category("longlink")
  static final class Detached extends SessionEvent {}

  @Name("longlink.GoAwaySent")
  @Label("GOAWAY sent")
  @Category("longlink")
  static final class GoAwaySent extends SessionEvent {
    String code;
    @Timespan(Timespan.MILLISECONDS)
    long reconnectDelayMs;
  }

  @Name("longlink.ConnectionClosed")
  @Label("Connection closed")
  @Category("longlink")
  static final class ConnectionClosed extends SessionEvent {
    String reason;
    @Timespan(Timespan.MILLISECONDS)
    long durationMs;
  }

  private static final jdk.jfr.EventType CLOSED = jdk.jfr.EventType.getEventType(ConnectionClosed.class);

  /** Whether a "closed" event would go anywhere: the caller can skip working out its fields. */
  static boolean closedWanted() {
    return log.isInfoEnabled() || CLOSED.isEnabled();
  }

  private static LoggingEventBuilder line(String event, String clientId, Object sessionId, Object remote) {
    LoggingEventBuilder b = log.atInfo().addKeyValue("event", event);
    if (clientId != null) {
      b = b.addKeyValue("clientId", clientId);
    }
    if (sessionId != null) {
      b = b.addKeyValue("sessionId", sessionId.toString());
    }
    return remote == null ? b : b.addKeyValue("remote", remote.toString()); // strings: JSON encoders would expand objects
  }

  static void connected(Object remote) {
    Connected e = new Connected();
    if (e.isEnabled()) {
      e.commit(null, null, remote);
    }
    if (log.isInfoEnabled()) {
      line("connected", null, null, remote).log("connected");
    }
  }

  static void authenticated(String clientId, Object sessionId, Object remote, String status) {
    Authenticated e = new Authenticated();
    if (e.isEnabled()) {
      e.status = status;
      e.commit(clientId, sessionId, remote);
    }
    if (log.isInfoEnabled()) {
      line("authenticated", clientId, sessionId, remote).addKeyValue("status", status).log("authenticated");
    }
  }

  static void resumed(String clientId, Object sessionId, Object remote, long replayed) {
    Resumed e = new Resumed();
    if (e.isEnabled()) {
      e.replayed = replayed;
      e.commit(clientId, sessionId, remote);
    }
    if (log.isInfoEnabled()) {
      line("resumed", clientId, sessionId, remote).addKeyValue("replayed", replayed).log("resumed");
    }
  }

  static void sessionLost(String clientId, Object oldSessionId, Object remote, long lostMessages) {
    SessionLost e = new SessionLost();
    if (e.isEnabled()) {
      e.lostMessages = lostMessages;
      e.commit(clientId, oldSessionId, remote);
    }
    if (log.isInfoEnabled()) {
      line("session_lost", clientId, oldSessionId, remote).addKeyValue("lostMessages", lostMessages).log("session lost");
    }
  }

  static void heartbeatMissed(String clientId, Object sessionId, Object remote, long silentMs) {
    HeartbeatMissed e = new HeartbeatMissed();
    if (e.isEnabled()) {
      e.silentMs = silentMs;
      e.commit(clientId, sessionId, remote);
    }
    if (log.isInfoEnabled()) {
      line("heartbeat_missed", clientId, sessionId, remote).addKeyValue("silentMs", silentMs).log("heartbeat missed");
    }
  }

  static void detached(String clientId, Object sessionId) {
    Detached e = new Detached();
    if (e.isEnabled()) {
      e.commit(clientId, sessionId, null);
    }
    if (log.isInfoEnabled()) {
      line("detached", clientId, sessionId, null).log("detached");
    }
  }

  static void goAwaySent(String clientId, Object sessionId, Object remote, String code, long delayMs) {
    GoAwaySent e = new GoAwaySent();
    if (e.isEnabled()) {
      e.code = code;
      e.reconnectDelayMs = delayMs;
      e.commit(clientId, sessionId, remote);
    }
    if (log.isInfoEnabled()) {
      line("goaway_sent", clientId, sessionId, remote).addKeyValue("code", code).addKeyValue("reconnectDelayMs", delayMs)
          .log("GOAWAY sent");
    }
  }

  static void authFailed(String clientId, Object remote, String reason) {
    if (log.isInfoEnabled()) {
      line("auth_failed", clientId, null, remote).addKeyValue("reason", reason).log("authentication failed");
    }
  }

  static void tlsFailed(Object remote, String reason, String detail) {
    if (log.isInfoEnabled()) {
      line("tls_failed", null, null, remote).addKeyValue("reason", reason).addKeyValue("detail", detail)
          .log("TLS handshake failed");
    }
  }

  static void closed(String clientId, Object sessionId, Object remote, String reason, long durationMs) {
    ConnectionClosed e = new ConnectionClosed();
    if (e.isEnabled()) {
      e.reason = reason;
      e.durationMs = durationMs;
      e.commit(clientId, sessionId, remote);
    }
    if (log.isInfoEnabled()) {
      line("closed", clientId, sessionId, remote).addKeyValue("reason", reason).addKeyValue("durationMs", durationMs)
          .log("closed");
    }
  }
}
