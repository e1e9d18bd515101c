package io.longlink.app.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.longlink.app.browser.Browser;
import io.longlink.chaos.ChaosProxy;
import io.longlink.client.ClientListener;
import io.longlink.client.ClientState;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.LonglinkException;
import io.longlink.client.ReceivedMessage;
import io.longlink.client.SessionLostEvent;
import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.TargetKind;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.WebSocketOptions;
import io.longlink.server.admin.AdminServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The conformance cases marked {@code sdk} in {@code conformance/cases.json}, driven through the
 * Java SDK (each case its own dynamic test) and through the TypeScript SDK
 * ({@code clients/typescript/conformance/sdk.ts} in Node), against one real gateway.
 */
class SdkConformanceTest {
  static final Path CASES = Path.of("..", "conformance", "cases.json").toAbsolutePath().normalize();

  LonglinkServer server;
  AdminServer admin;
  final List<AutoCloseable> open = new ArrayList<>();
  int n;

  @BeforeEach
  void start() throws Exception {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).webSocket(WebSocketOptions.on(0))
        .sessionRetention(Duration.ofSeconds(1)).backoffInitial(Duration.ofMillis(5)).backoffMax(Duration.ofMillis(50))
        .build()).build().start();
    admin = AdminServer.start(server, "127.0.0.1", 0);
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
    admin.close();
    server.close();
  }

  static List<String> sdkCases() throws Exception {
    List<String> ids = new ArrayList<>();
    for (JsonNode c : new ObjectMapper().readTree(Files.readString(CASES)).get("cases")) {
      if (c.path("sdk").asBoolean()) {
        ids.add(c.get("id").asText());
      }
    }
    return ids;
  }

  /** The Java side of each case. */
  Map<String, Scenario> scenarios() {
    Map<String, Scenario> m = new LinkedHashMap<>();
    m.put("login", () -> {
      Peer a = peer("a");
      assertThat(a.client.state()).isEqualTo(ClientState.CONNECTED);
      assertThat(a.client.sessionId()).isNotEmpty().hasSizeLessThanOrEqualTo(64);
    });
    m.put("route-to-client", () -> {
      Peer alice = peer("alice");
      Peer bob = peer("bob");
      alice.send(Destination.client(bob.id), "hello").get(5, TimeUnit.SECONDS);
      await().until(() -> bob.received.size() == 1);
      ReceivedMessage r = bob.received.get(0);
      assertThat(List.of(r.from(), r.target(), r.targetKind(), r.payloadText(), r.seq()))
          .containsExactly(alice.id, bob.id, TargetKind.CLIENT, "hello", 1L);
    });
    m.put("route-to-topic", () -> {
      Peer alice = peer("alice");
      Peer bob = peer("bob");
      String topic = "java-topic-" + n;
      bob.client.subscribe(topic).get(5, TimeUnit.SECONDS);
      alice.send(Destination.topic(topic), "news").get(5, TimeUnit.SECONDS);
      await().until(() -> bob.received.size() == 1);
      assertThat(bob.received.get(0).targetKind()).isEqualTo(TargetKind.TOPIC);
      assertThat(bob.received.get(0).from()).isEqualTo(alice.id);
      bob.client.unsubscribe(topic).get(5, TimeUnit.SECONDS);
      alice.send(Destination.topic(topic), "after").get(5, TimeUnit.SECONDS);
      alice.send(Destination.client(bob.id), "marker").get(5, TimeUnit.SECONDS);
      await().until(() -> bob.received.size() >= 2);
      assertThat(bob.texts()).containsExactly("news", "marker");
    });
    m.put("ack-cumulative", () -> {
      Peer alice = peer("alice");
      Peer bob = peer("bob");
      CompletableFuture.allOf(alice.send(Destination.client(bob.id), "1"), alice.send(Destination.client(bob.id), "2"),
          alice.send(Destination.client(bob.id), "3")).get(5, TimeUnit.SECONDS);
      await().until(() -> bob.received.size() == 3);
      assertThat(bob.received.stream().map(r -> r.seq() + ":" + r.payloadText())).containsExactly("1:1", "2:2", "3:3");
    });
    m.put("ping-pong", () -> assertThat(peer("a").client.ping().get(5, TimeUnit.SECONDS)).isPositive());
    m.put("resume-server-replays", () -> {
      Peer alice = peer("alice");
      Peer bob = peer("bob");
      String session = bob.client.sessionId();
      for (int i = 0; i < 50; i++) {
        alice.send(Destination.client(bob.id), "m" + i).get(5, TimeUnit.SECONDS);
      }
      await().until(() -> bob.received.size() == 50);
      bob.proxy.setEnabled(false); // cut, and kept away
      await().until(() -> bob.client.state() != ClientState.CONNECTED);
      List<CompletableFuture<Void>> sends = new ArrayList<>();
      for (int i = 50; i < 100; i++) {
        sends.add(alice.send(Destination.client(bob.id), "m" + i));
      }
      bob.proxy.setEnabled(true);
      await().until(() -> bob.received.size() >= 100);
      CompletableFuture.allOf(sends.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);
      assertThat(bob.client.sessionId()).isEqualTo(session);
      assertThat(bob.texts()).isEqualTo(IntStream.range(0, 100).mapToObj(i -> "m" + i).toList());
    });
    m.put("resume-client-replays", () -> {
      Peer alice = peer("alice");
      Peer bob = peer("bob");
      String session = alice.client.sessionId();
      List<CompletableFuture<Void>> sends = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        sends.add(alice.send(Destination.client(bob.id), "c" + i));
      }
      alice.proxy.resetAll(); // most acknowledgements are still on their way
      CompletableFuture.allOf(sends.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);
      await().until(() -> bob.received.size() >= 100);
      assertThat(alice.client.sessionId()).isEqualTo(session);
      assertThat(bob.texts()).isEqualTo(IntStream.range(0, 100).mapToObj(i -> "c" + i).toList());
    });
    m.put("session-lost", () -> {
      Peer bob = peer("bob");
      String old = bob.client.sessionId();
      bob.proxy.setEnabled(false);
      await().atMost(Duration.ofSeconds(15)).until(() -> server.sessions(bob.id, 1).isEmpty());
      bob.proxy.setEnabled(true);
      await().until(() -> bob.lost.size() == 1 && bob.client.state() == ClientState.CONNECTED);
      assertThat(bob.lost.get(0).oldSessionId()).isEqualTo(old);
      assertThat(bob.lost.get(0).newSessionId()).isEqualTo(bob.client.sessionId()).isNotEqualTo(old);
    });
    m.put("replaced", () -> {
      Peer first = peer("twice");
      Peer second = peer(first.id, "again");
      await().until(() -> first.client.state() == ClientState.DISCONNECTED);
      assertThat(first.causes).anySatisfy(c -> assertThat(c).isInstanceOfSatisfying(LonglinkException.class,
          e -> assertThat(e.code()).isEqualTo(ErrorCode.REPLACED)));
      assertThat(second.client.state()).isEqualTo(ClientState.CONNECTED);
    });
    return m;
  }

  @Test
  void everySdkCaseHasAJavaScenarioAndNoScenarioLacksACase() throws Exception {
    assertThat(scenarios().keySet()).containsExactlyInAnyOrderElementsOf(sdkCases());
  }

  @TestFactory
  Stream<DynamicTest> theJavaSdkPassesEverySdkCase() throws Exception {
    Map<String, Scenario> scenarios = scenarios();
    return sdkCases().stream().filter(scenarios::containsKey).map(id -> DynamicTest.dynamicTest(id, () -> {
      try {
        scenarios.get(id).run();
      } finally {
        for (AutoCloseable c : open.reversed()) {
          c.close();
        }
        open.clear();
      }
    }));
  }

  @Test
  void theTypeScriptSdkPassesEverySdkCase(@TempDir Path dir) throws Exception {
    Browser.assumeNode();
    Path script = Browser.SDK.resolve("build-test/conformance/sdk.js");
    assertThat(script).as("built by npm test (the Maven build of clients/typescript)").exists();
    Process p = new ProcessBuilder("node", script.toString(), "--ws", "ws://127.0.0.1:"
        + server.webSocketAddress().getPort() + "/longlink", "--admin", "http://127.0.0.1:" + admin.address().getPort(),
        "--cases", CASES.toString()).directory(Browser.SDK.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    List<String> lines = out.strip().lines().toList();
    assertThat(lines.get(lines.size() - 1)).as(out).isEqualTo(sdkCases().size() + " passed, 0 failed");
    assertThat(p.exitValue()).isZero();
  }

  interface Scenario {
    void run() throws Exception;
  }

  /** A Java SDK client whose connection goes through a chaos proxy of its own (to cut it, or keep it away). */
  final class Peer implements AutoCloseable {
    final String id;
    final ChaosProxy proxy;
    final LonglinkClient client;
    final List<ReceivedMessage> received = new CopyOnWriteArrayList<>();
    final List<SessionLostEvent> lost = new CopyOnWriteArrayList<>();
    final List<Throwable> causes = new CopyOnWriteArrayList<>();

    Peer(String id, String proxyName) throws Exception {
      this.id = id;
      proxy = ChaosProxy.builder(proxyName).listen(new InetSocketAddress("127.0.0.1", 0))
          .upstream(server.localAddress()).build().start();
      client = LonglinkClient.builder().endpoint(proxy.address()).clientId(id).backoff(Duration.ofMillis(5),
          Duration.ofMillis(50)).listener(new ClientListener() {
            @Override
            public void onMessage(ReceivedMessage m) {
              received.add(m);
            }

            @Override
            public void onSessionLost(SessionLostEvent event) {
              lost.add(event);
            }

            @Override
            public void onStateChanged(ClientState previous, ClientState current, Throwable cause) {
              if (cause != null) {
                causes.add(cause);
              }
            }
          }).build();
      client.connect().get(10, TimeUnit.SECONDS);
    }

    CompletableFuture<Void> send(Destination to, String text) {
      return client.send(to, text.getBytes(StandardCharsets.UTF_8));
    }

    List<String> texts() {
      return received.stream().map(ReceivedMessage::payloadText).toList();
    }

    @Override
    public void close() {
      client.close();
      proxy.close();
    }
  }

  Peer peer(String role) throws Exception {
    return peer("java-" + role + "-" + (++n), role);
  }

  Peer peer(String id, String proxyName) throws Exception {
    Peer p = new Peer(id, proxyName);
    open.add(p);
    return p;
  }

}
