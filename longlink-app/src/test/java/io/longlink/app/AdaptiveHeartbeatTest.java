package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.client.AdaptiveHeartbeat;
import io.longlink.client.ClientListener;
import io.longlink.client.HeartbeatChange;
import io.longlink.client.HeartbeatChange.Cause;
import io.longlink.client.LonglinkClient;
import io.longlink.client.ReceivedMessage;
import io.longlink.client.heartbeat.HeartbeatStore;
import io.longlink.client.heartbeat.LearnedHeartbeat;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.micrometer.core.instrument.DistributionSummary;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An adaptive Java client against the real gateway over loopback, where no NAT forgets anything: it
 * lengthens its interval step by step up to the gateway's maximum and holds there, the gateway's
 * liveness deadline follows each step (a gateway that ignored them would time the client out), what
 * it learned is in the store for the next process, and in the foreground it uses the gateway's
 * interval. NAT expiry itself is proven in namespaces (KernelFaultIT).
 */
class AdaptiveHeartbeatTest {
  @TempDir Path dir;
  LonglinkServer server;
  final List<LonglinkClient> clients = new ArrayList<>();

  static final class Changes implements ClientListener {
    final List<HeartbeatChange> changes = new CopyOnWriteArrayList<>();
    final List<String> received = new CopyOnWriteArrayList<>();

    @Override
    public void onHeartbeatChanged(HeartbeatChange change) {
      changes.add(change);
    }

    @Override
    public void onMessage(ReceivedMessage message) {
      received.add(message.payloadText());
    }

    List<Cause> causes() {
      return changes.stream().map(HeartbeatChange::cause).toList();
    }

    List<Long> intervals() {
      return changes.stream().map(c -> c.interval().toMillis()).toList();
    }
  }

  @BeforeEach
  void start() {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0)
        .heartbeatInterval(Duration.ofMillis(200)).heartbeatMisses(2)
        .heartbeatMin(Duration.ofMillis(100)).heartbeatMax(Duration.ofMillis(1_000)).build()).build().start();
  }

  @AfterEach
  void stop() {
    clients.forEach(LonglinkClient::close);
    server.close();
  }

  LonglinkClient client(String id, HeartbeatStore store, Changes listener) throws Exception {
    LonglinkClient c = LonglinkClient.builder().endpoint(server.localAddress()).clientId(id).listener(listener)
        .adaptiveHeartbeat(AdaptiveHeartbeat.builder().store(store).network(() -> "loopback-lab").step(2.0)
            .beatsToGrow(1).pongTimeout(Duration.ofMillis(500)).build())
        .build();
    clients.add(c);
    c.connect().get(5, TimeUnit.SECONDS);
    return c;
  }

  long heartbeatTimeouts() {
    return (long) server.meterRegistry().get("longlink.connection.closes").tag("reason", "heartbeat_timeout")
        .functionCounter().count();
  }

  @Test
  void growsToTheGatewaysMaximumWhileTheGatewayFollowsAndKeepsWhatItLearned() throws Exception {
    Path file = dir.resolve("heartbeat.tsv");
    Changes first = new Changes();
    LonglinkClient c = client("idle", HeartbeatStore.file(file, 8), first);
    // 200 ms, then 400, 800 and the maximum 1,000 ms after one survived idle period each; then held.
    await().atMost(Duration.ofSeconds(20)).until(() -> first.causes().contains(Cause.HELD));
    assertThat(first.intervals()).containsExactly(200L, 400L, 800L, 1_000L, 1_000L);
    assertThat(first.causes()).containsExactly(Cause.RESTORED, Cause.GREW, Cause.GREW, Cause.GREW, Cause.HELD);
    assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofMillis(1_000));
    // Idle for several of its intervals, each 2.5 x the gateway's own window of 400 ms: still the same connection.
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4))
        .until(() -> c.reconnects() == 0 && heartbeatTimeouts() == 0);
    assertThat(c.natExpiries()).isZero();
    DistributionSummary announced = server.meterRegistry().get("longlink.heartbeat.client.interval").summary();
    assertThat(announced.count()).isEqualTo(3);
    assertThat(announced.max()).isEqualTo(1.0);
    assertThat(server.meterRegistry().get("longlink.heartbeats").functionCounter().count()).isGreaterThanOrEqualTo(4);

    // Stored for the next process on this network: it starts at the maximum, held.
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).startsWith("loopback-lab\t1000\t1000\t0\ttrue\t");
    c.close();
    Changes second = new Changes();
    LonglinkClient again = client("idle-again", HeartbeatStore.file(file, 8), second);
    assertThat(second.changes).hasSize(1);
    assertThat(second.changes.get(0).cause()).isEqualTo(Cause.RESTORED);
    assertThat(again.heartbeatInterval()).isEqualTo(Duration.ofMillis(1_000));
  }

  @Test
  void inTheForegroundTheClientUsesTheGatewaysIntervalAndTheGatewayFollowsBackDown() throws Exception {
    Changes changes = new Changes();
    HeartbeatStore store = HeartbeatStore.inMemory(4);
    store.save(new LearnedHeartbeat("loopback-lab", 1_000, 1_000, 0, true, System.currentTimeMillis()));
    LonglinkClient c = client("fg", store, changes);
    assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofMillis(1_000));
    c.foreground(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> changes.causes().contains(Cause.FOREGROUND));
    assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofMillis(200));
    LonglinkClient sender = LonglinkClient.builder().endpoint(server.localAddress()).clientId("sender").build();
    clients.add(sender);
    sender.connect().get(5, TimeUnit.SECONDS);
    sender.send(io.longlink.client.Destination.client("fg"), "hello".getBytes(StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).until(() -> changes.received.contains("hello"));
    c.foreground(false);
    await().atMost(Duration.ofSeconds(5)).until(() -> changes.causes().contains(Cause.BACKGROUND));
    assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofMillis(1_000));
    // Idle past the gateway's 400 ms window under the learned interval: the gateway follows back up.
    await().during(Duration.ofMillis(2_500)).atMost(Duration.ofSeconds(4))
        .until(() -> c.reconnects() == 0 && heartbeatTimeouts() == 0);
  }

  @Test
  void aClientThatDoesNotAdaptKeepsTheGatewaysIntervalAndVersionOne() throws Exception {
    LonglinkClient plain = LonglinkClient.builder().endpoint(server.localAddress()).clientId("plain").build();
    clients.add(plain);
    plain.connect().get(5, TimeUnit.SECONDS);
    assertThat(plain.heartbeatInterval()).isEqualTo(Duration.ofMillis(200));
    await().during(Duration.ofMillis(1_500)).atMost(Duration.ofSeconds(3)).until(() -> plain.reconnects() == 0);
    assertThatNoIntervalWasAnnounced();
  }

  void assertThatNoIntervalWasAnnounced() {
    assertThat(server.meterRegistry().get("longlink.heartbeat.client.interval").summary().count()).isZero();
  }
}
