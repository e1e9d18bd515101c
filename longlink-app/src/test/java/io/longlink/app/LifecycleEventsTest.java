package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.protocol.testing.RawClient;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * One scripted life of several clients (login, abrupt exit, resume, silence, a lost session, a kick):
 * every step leaves a lifecycle log line that parses as JSON with its fields, and a JFR event.
 */
class LifecycleEventsTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void everyLifecycleStepIsLoggedAsJsonAndRecordedInJfr(@TempDir Path dir) throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger lifecycle = ctx.getLogger("longlink.lifecycle");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    LogstashEncoder encoder = new LogstashEncoder();
    encoder.setContext(ctx);
    encoder.start();
    OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    appender.setContext(ctx);
    appender.setEncoder(encoder);
    appender.setOutputStream(out);
    appender.start();
    ch.qos.logback.classic.Level before = lifecycle.getLevel();
    lifecycle.setLevel(ch.qos.logback.classic.Level.INFO);
    lifecycle.addAppender(appender);
    Path jfr = dir.resolve("lifecycle.jfr");
    try (Recording recording = new Recording()) {
      recording.enable("longlink.Connected");
      recording.enable("longlink.Authenticated");
      recording.enable("longlink.Resumed");
      recording.enable("longlink.SessionLost");
      recording.enable("longlink.HeartbeatMissed");
      recording.enable("longlink.Detached");
      recording.enable("longlink.GoAwaySent");
      recording.enable("longlink.ConnectionClosed");
      recording.start();
      scenario();
      recording.stop();
      recording.dump(jfr);
    } finally {
      lifecycle.detachAppender(appender);
      lifecycle.setLevel(before);
    }

    List<JsonNode> lines = new ArrayList<>();
    for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
      if (!line.isBlank()) {
        lines.add(JSON.readTree(line)); // each line is one JSON object
      }
    }
    Set<String> events = lines.stream().map(n -> n.path("event").asText()).collect(Collectors.toSet());
    assertThat(events).contains("connected", "authenticated", "closed", "detached", "resumed", "heartbeat_missed",
        "session_lost", "goaway_sent");
    for (JsonNode n : lines) {
      assertThat(n.path("logger_name").asText()).isEqualTo("longlink.lifecycle");
      assertThat(n.has("@timestamp")).isTrue();
      if (!n.path("event").asText().equals("detached")) {
        assertThat(n.path("remote").asText()).as(n.toString()).startsWith("/127.0.0.1:");
      }
      if (!n.path("event").asText().equals("connected")) {
        assertThat(n.path("clientId").asText()).as(n.toString()).isNotEmpty();
      }
    }
    JsonNode timeout = lines.stream().filter(n -> n.path("event").asText().equals("closed")
        && n.path("clientId").asText().equals("bob")).findFirst().orElseThrow();
    assertThat(timeout.path("reason").asText()).isEqualTo("heartbeat_timeout");
    assertThat(timeout.path("durationMs").asLong()).isGreaterThanOrEqualTo(300);
    JsonNode kick = lines.stream().filter(n -> n.path("event").asText().equals("goaway_sent")).findFirst().orElseThrow();
    assertThat(kick.path("code").asText()).isEqualTo("KICKED");
    assertThat(kick.path("clientId").asText()).isEqualTo("carol");

    List<RecordedEvent> recorded = RecordingFile.readAllEvents(jfr);
    Set<String> types = recorded.stream().map(e -> e.getEventType().getName()).collect(Collectors.toSet());
    assertThat(types).contains("longlink.Connected", "longlink.Authenticated", "longlink.Resumed",
        "longlink.SessionLost", "longlink.HeartbeatMissed", "longlink.Detached", "longlink.GoAwaySent",
        "longlink.ConnectionClosed");
    RecordedEvent closedBob = recorded.stream().filter(e -> e.getEventType().getName().equals("longlink.ConnectionClosed")
        && "bob".equals(e.getString("clientId"))).findFirst().orElseThrow();
    assertThat(closedBob.getString("reason")).isEqualTo("heartbeat_timeout");
    assertThat(Files.size(jfr)).isPositive();
  }

  private static void scenario() throws Exception {
    try (LonglinkServer server = LonglinkServer.builder().config(ServerConfig.builder().port(0)
        .heartbeatInterval(Duration.ofMillis(300)).heartbeatMisses(1).build()).build().start()) {
      RawClient alice = RawClient.connect(server.localAddress());
      alice.send(Frame.Hello.newSession("alice", ""));
      String aliceSession = alice.readUntil(Frame.Welcome.class).sessionId();
      alice.abort(); // the process died
      await().until(() -> server.stats().detachedSessions() == 1);
      try (RawClient back = RawClient.connect(server.localAddress())) {
        back.send(new Frame.Hello(Frame.VERSION, "alice", "", aliceSession, 0, 2));
        back.readUntil(Frame.Welcome.class);
        back.send(new Frame.Close(ErrorCode.NORMAL, "bye"));
        back.awaitClosed(Duration.ofSeconds(5));
      }
      try (RawClient bob = RawClient.login(server.localAddress(), "bob")) { // then silent
        assertThat(bob.awaitClosed(Duration.ofSeconds(5))).isTrue();
      }
      try (RawClient carol = RawClient.connect(server.localAddress())) {
        carol.send(new Frame.Hello(Frame.VERSION, "carol", "", "0123456789abcdef0123456789abcdef", 5, 1));
        String id = carol.readUntil(Frame.Welcome.class).sessionId(); // LOST: a fresh session
        carol.send(new Frame.Ping(1));
        assertThat(server.kick(id, "abuse")).isTrue();
        carol.readUntil(Frame.GoAway.class);
      }
      await().until(() -> server.stats().connections() == 0);
    }
  }
}
