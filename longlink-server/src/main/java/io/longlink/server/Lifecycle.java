package io.longlink.server;

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

  @Name("longlink.Connected")
  @Label("Connection accepted")
  @Category("longlink")
  static final class Connected extends Event {
    @Label("Remote address")
    String remote;
  }

  @Name("longlink.Authenticated")
  @Label("Session opened")
  @Description("A login: a new session, or a fresh one after the old was lost")
  @Category("longlink")
  static final class Authenticated extends Event {
    String clientId;
    String sessionId;
    String remote;
    @Label("Session status")
    String status;
  }

  @Name("longlink.Resumed")
  @Label("Session resumed")
  @Category("longlink")
  static final class Resumed extends Event {
    String clientId;
    String sessionId;
    String remote;
    @Label("Messages replayed")
    long replayed;
  }

  @Name("longlink.SessionLost")
  @Label("Session lost")
  @Description("A client asked to resume a session the node no longer has")
  @Category("longlink")
  static final class SessionLost extends Event {
    String clientId;
    String oldSessionId;
    String remote;
    @Label("Messages lost")
    long lostMessages;
  }

  @Name("longlink.HeartbeatMissed")
  @Label("Heartbeat missed")
  @Category("longlink")
  static final class HeartbeatMissed extends Event {
    String clientId;
    String sessionId;
    String remote;
    @Timespan(Timespan.MILLISECONDS)
    long silentMs;
  }

  @Name("longlink.Detached")
  @Label("Session detached")
  @Description("The session's connection went away; it is kept for resume")
  @Category("longlink")
  static final class Detached extends Event {
    String clientId;
    String sessionId;
  }

  @Name("longlink.GoAwaySent")
  @Label("GOAWAY sent")
  @Category("longlink")
  static final class GoAwaySent extends Event {
    String clientId;
    String sessionId;
    String remote;
    String code;
    @Timespan(Timespan.MILLISECONDS)
    long reconnectDelayMs;
  }

  @Name("longlink.ConnectionClosed")
  @Label("Connection closed")
  @Category("longlink")
  static final class ConnectionClosed extends Event {
    String clientId;
    String sessionId;
    String remote;
    String reason;
    @Timespan(Timespan.MILLISECONDS)
    long durationMs;
  }

  static boolean logging() {
    return log.isInfoEnabled();
  }

  private static LoggingEventBuilder line(String event, String clientId, String sessionId, String remote) {
    LoggingEventBuilder b = log.atInfo().addKeyValue("event", event);
    if (clientId != null) {
      b = b.addKeyValue("clientId", clientId);
    }
    if (sessionId != null) {
      b = b.addKeyValue("sessionId", sessionId);
    }
    return b.addKeyValue("remote", remote);
  }

  static void connected(String remote) {
    Connected e = new Connected();
    if (e.isEnabled()) {
      e.remote = remote;
      e.commit();
    }
    if (log.isInfoEnabled()) {
      line("connected", null, null, remote).log("connected");
    }
  }

  static void authenticated(String clientId, String sessionId, String remote, String status) {
    Authenticated e = new Authenticated();
    if (e.isEnabled()) {
      e.clientId = clientId;
      e.sessionId = sessionId;
      e.remote = remote;
      e.status = status;
      e.commit();
    }
    if (log.isInfoEnabled()) {
      line("authenticated", clientId, sessionId, remote).addKeyValue("status", status).log("authenticated");
    }
  }

  static void resumed(String clientId, String sessionId, String remote, long replayed) {
    Resumed e = new Resumed();
    if (e.isEnabled()) {
      e.clientId = clientId;
      e.sessionId = sessionId;
      e.remote = remote;
      e.replayed = replayed;
      e.commit();
    }
    if (log.isInfoEnabled()) {
      line("resumed", clientId, sessionId, remote).addKeyValue("replayed", replayed).log("resumed");
    }
  }

  static void sessionLost(String clientId, String oldSessionId, String remote, long lostMessages) {
    SessionLost e = new SessionLost();
    if (e.isEnabled()) {
      e.clientId = clientId;
      e.oldSessionId = oldSessionId;
      e.remote = remote;
      e.lostMessages = lostMessages;
      e.commit();
    }
    if (log.isInfoEnabled()) {
      line("session_lost", clientId, oldSessionId, remote).addKeyValue("lostMessages", lostMessages).log("session lost");
    }
  }

  static void heartbeatMissed(String clientId, String sessionId, String remote, long silentMs) {
    HeartbeatMissed e = new HeartbeatMissed();
    if (e.isEnabled()) {
      e.clientId = clientId;
      e.sessionId = sessionId;
      e.remote = remote;
      e.silentMs = silentMs;
      e.commit();
    }
    if (log.isInfoEnabled()) {
      line("heartbeat_missed", clientId, sessionId, remote).addKeyValue("silentMs", silentMs).log("heartbeat missed");
    }
  }

  static void detached(String clientId, String sessionId) {
    Detached e = new Detached();
    if (e.isEnabled()) {
      e.clientId = clientId;
      e.sessionId = sessionId;
      e.commit();
    }
    if (log.isInfoEnabled()) {
      log.atInfo().addKeyValue("event", "detached").addKeyValue("clientId", clientId).addKeyValue("sessionId", sessionId)
          .log("detached");
    }
  }

  static void goAwaySent(String clientId, String sessionId, String remote, String code, long delayMs) {
    GoAwaySent e = new GoAwaySent();
    if (e.isEnabled()) {
      e.clientId = clientId;
      e.sessionId = sessionId;
      e.remote = remote;
      e.code = code;
      e.reconnectDelayMs = delayMs;
      e.commit();
    }
    if (log.isInfoEnabled()) {
      line("goaway_sent", clientId, sessionId, remote).addKeyValue("code", code).addKeyValue("reconnectDelayMs", delayMs)
          .log("GOAWAY sent");
    }
  }

  static void closed(String clientId, String sessionId, String remote, String reason, long durationMs) {
    ConnectionClosed e = new ConnectionClosed();
    if (e.isEnabled()) {
      e.clientId = clientId;
      e.sessionId = sessionId;
      e.remote = remote;
      e.reason = reason;
      e.durationMs = durationMs;
      e.commit();
    }
    if (log.isInfoEnabled()) {
      line("closed", clientId, sessionId, remote).addKeyValue("reason", reason).addKeyValue("durationMs", durationMs)
          .log("closed");
    }
  }
}
