package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.longlink.chaos.ChaosProxy;
import io.longlink.client.ClientListener;
import io.longlink.client.ClientState;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.LonglinkException;
import io.longlink.client.ReceivedMessage;
import io.longlink.cluster.redis.RedisClusterStore;
import io.longlink.cluster.redis.RedisNodeRegistry;
import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.TargetKind;
import io.longlink.server.DeviceOptions;
import io.longlink.server.DevicePresence;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.testing.Closer;
import io.longlink.testing.RedisProcess;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Users with several devices (protocol version 3), end to end over loopback with the Java SDK: a
 * user-addressed message reaches each device once, in order, in the device's own sequence (and a
 * device whose connection is cut replays only its own gap), on one node and across two cluster
 * nodes on a real Redis; the per-user session limit under both policies; presence events once per
 * real change, none for a flash disconnect.
 */
class DevicesTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @RegisterExtension final Closer open = new Closer();

  /** A client that records what it receives and how its connection went. */
  static final class Device implements ClientListener {
    final List<String> payloads = Collections.synchronizedList(new ArrayList<>());
    final List<Long> seqs = Collections.synchronizedList(new ArrayList<>());
    final List<ReceivedMessage> messages = new CopyOnWriteArrayList<>();
    final List<ClientState> states = new CopyOnWriteArrayList<>();
    final List<Throwable> causes = new CopyOnWriteArrayList<>();
    LonglinkClient client;

    @Override
    public void onMessage(ReceivedMessage m) {
      messages.add(m);
      payloads.add(m.payloadText());
      seqs.add(m.seq());
    }

    @Override
    public void onStateChanged(ClientState previous, ClientState current, Throwable cause) {
      states.add(current);
      if (cause != null) {
        causes.add(cause);
      }
    }

    long connects() {
      return states.stream().filter(s -> s == ClientState.CONNECTED).count();
    }
  }

  Device device(String clientId, String deviceId, InetSocketAddress endpoint) throws Exception {
    Device d = new Device();
    LonglinkClient.Builder b = LonglinkClient.builder().endpoint(endpoint).clientId(clientId).listener(d)
        .backoff(Duration.ofMillis(10), Duration.ofMillis(100)).maxPending(5_000, 16 << 20);
    if (deviceId != null) {
      b.deviceId(deviceId);
    }
    d.client = b.build();
    open.add(d.client);
    d.client.connect().get(10, TimeUnit.SECONDS);
    return d;
  }

  LonglinkServer single(ServerConfig.Builder config) {
    LonglinkServer s = LonglinkServer.builder().config(config.port(0).build()).build().start();
    open.add(s);
    return s;
  }

  LonglinkServer clusterNode(String redis, String id, ServerConfig.Builder config) {
    LonglinkServer s = LonglinkServer.builder().config(config.port(0).build())
        .cluster(RedisNodeRegistry.connect(redis, "devices", Duration.ofSeconds(3)), id, "", "")
        .clusterStore(RedisClusterStore.connect(redis, "devices", 10_000))
        .build().start();
    open.add(s);
    return s;
  }

  ChaosProxy proxyTo(InetSocketAddress upstream) {
    ChaosProxy p = ChaosProxy.builder("device").listen(new InetSocketAddress("127.0.0.1", 0)).upstream(upstream).build()
        .start();
    open.add(p);
    return p;
  }

  static List<String> numbered(String prefix, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  static List<Long> oneTo(int n) {
    List<Long> out = new ArrayList<>();
    for (long i = 1; i <= n; i++) {
      out.add(i);
    }
    return out;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Sends {@code n} messages to user alice from {@code sender}, cutting {@code cut}'s connection after
   * the first third, and checks what each device got.
   */
  void thousandToTheUserThroughACut(Device sender, ChaosProxy cut, Device cutDevice, Device... others)
      throws Exception {
    int n = 1000;
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      acks.add(sender.client.send(Destination.user("alice"), utf8("m" + i)));
      if (i == n / 3) {
        CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
        cut.resetAll();
      }
    }
    CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    List<Device> all = new ArrayList<>(List.of(others));
    all.add(cutDevice);
    for (Device d : all) {
      await().atMost(Duration.ofSeconds(30)).until(() -> d.payloads.size() >= n);
    }
    for (Device d : all) {
      assertThat(d.payloads).as("each device gets every message once, in order").isEqualTo(numbered("m", n));
      assertThat(d.seqs).as("in the device's own sequence").isEqualTo(oneTo(n));
      assertThat(d.messages).allSatisfy(m -> {
        assertThat(m.targetKind()).isEqualTo(TargetKind.USER);
        assertThat(m.target()).isEqualTo("alice");
        assertThat(m.from()).isEqualTo("carol");
      });
    }
    assertThat(cutDevice.connects()).as("the cut device reconnected and resumed").isGreaterThanOrEqualTo(2);
    assertThat(cutDevice.client.sessionId()).isNotNull();
    for (Device d : others) {
      assertThat(d.connects()).as("the other devices were not disturbed").isEqualTo(1);
    }
  }

  @Test
  void threeDevicesOfAUserEachGetAThousandUserMessagesOnceInOrderThroughACut() throws Exception {
    LonglinkServer server = single(ServerConfig.builder().heartbeatInterval(Duration.ofSeconds(1)));
    ChaosProxy proxy = proxyTo(server.localAddress());
    Device phone = device("alice", "phone", server.localAddress());
    Device laptop = device("alice", "laptop", proxy.address());
    Device browser = device("alice", "browser", server.localAddress());
    Device plain = device("alice", null, server.localAddress()); // no device id: not one of the user's devices
    Device carol = device("carol", null, server.localAddress());
    String laptopSession = laptop.client.sessionId();
    thousandToTheUserThroughACut(carol, proxy, laptop, phone, browser);
    assertThat(laptop.client.sessionId()).as("resumed, not a new session").isEqualTo(laptopSession);
    assertThat(plain.payloads).isEmpty();
    // The backend reaches the same devices.
    assertThat(server.publishToUser("alice", utf8("from the backend"))).isEqualTo(3);
    for (Device d : List.of(phone, laptop, browser)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> d.payloads.contains("from the backend"));
    }
    assertThat(server.publishToUser("nobody", utf8("x"))).isZero();
    assertThat(server.sessions("alice", 10)).extracting(i -> i.deviceId())
        .containsExactlyInAnyOrder("", "phone", "laptop", "browser");
  }

  @Test
  void threeDevicesOnTwoClusterNodesEachGetAThousandUserMessagesOnceInOrderThroughACut(@TempDir Path dir)
      throws Exception {
    RedisProcess redis = RedisProcess.start(dir);
    open.add(redis);
    ServerConfig.Builder config = ServerConfig.builder().heartbeatInterval(Duration.ofSeconds(1));
    LonglinkServer a = clusterNode(redis.uri(), "a", config);
    LonglinkServer b = clusterNode(redis.uri(), "b", config);
    ChaosProxy toB = proxyTo(b.localAddress());
    Device phone = device("alice", "phone", a.localAddress());
    Device browser = device("alice", "browser", a.localAddress());
    Device laptop = device("alice", "laptop", toB.address());
    Device carol = device("carol", null, b.localAddress());
    String laptopSession = laptop.client.sessionId();
    thousandToTheUserThroughACut(carol, toB, laptop, phone, browser);
    assertThat(laptop.client.sessionId()).isEqualTo(laptopSession);
    assertThat(a.publishToUser("alice", utf8("from the backend"))).as("stored for each device, on any node")
        .isEqualTo(3);
    for (Device d : List.of(phone, laptop, browser)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> d.payloads.contains("from the backend"));
    }
  }

  @Test
  void theUsersEleventhSessionIsRefused() throws Exception {
    LonglinkServer server = single(ServerConfig.builder());
    for (int i = 1; i <= 10; i++) {
      device("alice", "d" + i, server.localAddress());
    }
    Device again = device("alice", "d3", server.localAddress()); // the same device again replaces its session
    assertThat(again.client.state()).isEqualTo(ClientState.CONNECTED);
    Device eleventh = new Device();
    LonglinkClient c = LonglinkClient.builder().endpoint(server.localAddress()).clientId("alice").deviceId("d11")
        .listener(eleventh).retryInitialConnect(false).build();
    open.add(c);
    assertThatThrownBy(() -> c.connect().get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(LonglinkException.class)
        .satisfies(e -> assertThat(((LonglinkException) e).code()).isEqualTo(ErrorCode.LIMIT_EXCEEDED));
    device("bob", "d1", server.localAddress()); // another user is not affected
    assertThat(server.stats().limitHits(io.longlink.server.Limits.Limit.SESSIONS_PER_USER)).isEqualTo(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().online().users() == 2);
    assertThat(server.stats().online().sessions()).isEqualTo(11);
  }

  @Test
  void underEndOldestTheNewSessionLogsInAndTheOldestIsReplaced(@TempDir Path dir) throws Exception {
    // Cluster-wide: the user's three sessions are on two nodes, the limit is 3.
    RedisProcess redis = RedisProcess.start(dir);
    open.add(redis);
    ServerConfig.Builder config = ServerConfig.builder().devices(DeviceOptions.builder().maxSessionsPerUser(3)
        .limitPolicy(DeviceOptions.LimitPolicy.END_OLDEST).build());
    LonglinkServer a = clusterNode(redis.uri(), "a", config);
    LonglinkServer b = clusterNode(redis.uri(), "b", config);
    Device first = device("alice", "d1", a.localAddress());
    Device second = device("alice", "d2", b.localAddress());
    Device third = device("alice", "d3", a.localAddress());
    Device fourth = device("alice", "d4", b.localAddress());
    await().atMost(Duration.ofSeconds(10)).until(() -> first.causes.stream()
        .anyMatch(e -> e instanceof LonglinkException x && x.code() == ErrorCode.REPLACED));
    await().atMost(Duration.ofSeconds(5)).until(() -> first.client.state() == ClientState.DISCONNECTED);
    for (Device d : List.of(second, third, fourth)) {
      assertThat(d.client.state()).isEqualTo(ClientState.CONNECTED);
    }
    assertThat(a.publishToUser("alice", utf8("x"))).isEqualTo(3);
    // Refuse-newest cluster-wide: the fourth device of bob, on the other node, is refused.
    LonglinkServer c = clusterNode(redis.uri(), "c", ServerConfig.builder()
        .devices(DeviceOptions.builder().maxSessionsPerUser(3).build()));
    for (int i = 1; i <= 3; i++) {
      device("bob", "d" + i, (i % 2 == 0 ? b : c).localAddress());
    }
    LonglinkClient refused = LonglinkClient.builder().endpoint(c.localAddress()).clientId("bob").deviceId("d4")
        .retryInitialConnect(false).build();
    open.add(refused);
    assertThatThrownBy(() -> refused.connect().get(10, TimeUnit.SECONDS)).cause().isInstanceOf(LonglinkException.class)
        .satisfies(e -> assertThat(((LonglinkException) e).code()).isEqualTo(ErrorCode.LIMIT_EXCEEDED));
  }

  /** Presence events seen by a subscriber of alice's presence topic, as "event device". */
  static final class Watcher implements ClientListener {
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<JsonNode> raw = new CopyOnWriteArrayList<>();

    @Override
    public void onMessage(ReceivedMessage m) {
      try {
        JsonNode e = JSON.readTree(m.payload());
        raw.add(e);
        events.add(e.get("event").asText() + " " + e.get("device").asText());
      } catch (java.io.IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @Test
  void presenceEventsFireOncePerRealChangeAndNotForAFlashDisconnect() throws Exception {
    Duration grace = Duration.ofMillis(1500);
    LonglinkServer server = single(ServerConfig.builder().heartbeatInterval(Duration.ofSeconds(1))
        .sweepInterval(Duration.ofMillis(100))
        .devices(DeviceOptions.builder().presenceTopic("presence/{principal}").presenceGrace(grace).build()));
    Watcher watcher = new Watcher();
    LonglinkClient w = LonglinkClient.builder().endpoint(server.localAddress()).clientId("watcher").listener(watcher)
        .build();
    open.add(w);
    w.connect().get(10, TimeUnit.SECONDS);
    w.subscribe("presence/alice").get(10, TimeUnit.SECONDS);
    ChaosProxy proxy = proxyTo(server.localAddress());
    Device phone = device("alice", "phone", proxy.address());
    await().atMost(Duration.ofSeconds(5)).until(() -> watcher.events.equals(List.of("online phone")));
    Device laptop = device("alice", "laptop", server.localAddress());
    await().atMost(Duration.ofSeconds(5)).until(() -> watcher.events.size() == 2);
    assertThat(server.presence("alice")).extracting(DevicePresence::deviceId).containsExactlyInAnyOrder("phone", "laptop");

    // A flash disconnect: the path is down for 700 ms (7 presence sweeps), the phone resumes within the
    // grace: still online meanwhile, and no offline/online pair.
    proxy.setEnabled(false);
    await().atMost(Duration.ofSeconds(5)).until(() -> server.sessions("alice", 10).stream()
        .anyMatch(i -> i.deviceId().equals("phone") && i.state().equals("DETACHED")));
    await().pollDelay(Duration.ofMillis(700)).atMost(Duration.ofSeconds(1))
        .until(() -> server.presence("alice").size() == 2);
    proxy.setEnabled(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> phone.connects() == 2);
    await().during(grace.plusMillis(500)).atMost(grace.plusSeconds(3))
        .until(() -> watcher.events.equals(List.of("online phone", "online laptop")));
    assertThat(server.stats().online()).extracting("sessions", "users").containsExactly(2L, 1L);

    // A real departure: the laptop closes its session.
    laptop.client.close();
    await().atMost(Duration.ofSeconds(5)).until(() -> watcher.events.size() == 3);
    // Away beyond the grace (the path is down): offline; back within the retention: online again, resumed.
    proxy.setEnabled(false);
    await().atMost(grace.plusSeconds(5)).until(() -> watcher.events.size() == 4);
    assertThat(server.presence("alice")).isEmpty();
    assertThat(server.stats().online()).extracting("sessions", "users").containsExactly(0L, 0L);
    proxy.setEnabled(true);
    await().atMost(Duration.ofSeconds(10)).until(() -> watcher.events.size() == 5);
    assertThat(server.stats().online()).extracting("sessions", "users").containsExactly(1L, 1L);
    assertThat(watcher.events).containsExactly("online phone", "online laptop", "offline laptop", "offline phone",
        "online phone");
    assertThat(phone.client.state()).isEqualTo(ClientState.CONNECTED);
    JsonNode last = watcher.raw.get(4);
    assertThat(last.get("principal").asText()).isEqualTo("alice");
    assertThat(last.get("clientId").asText()).isEqualTo("alice");
    assertThat(last.get("sessionId").asText()).isEqualTo(phone.client.sessionId());
    assertThat(server.presence("alice")).singleElement().satisfies(p -> {
      assertThat(p.deviceId()).isEqualTo("phone");
      assertThat(p.sessionId()).isEqualTo(phone.client.sessionId());
    });
  }
}
