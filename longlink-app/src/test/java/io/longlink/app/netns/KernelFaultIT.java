package io.longlink.app.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static io.longlink.app.netns.NetnsOutput.batches;
import static io.longlink.app.netns.NetnsOutput.count;
import static io.longlink.app.netns.NetnsOutput.payloads;
import static org.awaitility.Awaitility.await;

import io.longlink.app.JarProcess;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kernel-level faults between a client behind a NAT router and the gateway, each in its own network
 * namespace, with the real runnable jar: NAT mapping expiry, silent partition, one-way loss. Needs
 * root; skipped with the reason otherwise. Each scenario prints a one-line summary.
 */
@Tag("netns")
class KernelFaultIT {

  @TempDir Path dir;
  NetnsLab lab;
  final List<Process> processes = new ArrayList<>();

  @AfterEach
  void tearDown() {
    processes.forEach(Process::destroyForcibly);
    for (Process p : processes) {
      try {
        p.waitFor(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (lab != null) {
      lab.close();
    }
  }

  JarProcess in(String ns, String name, String... args) throws IOException {
    JarProcess p = JarProcess.start(dir, name, NetnsLab.in(ns, List.of()), Map.of("LONGLINK_LOG_LEVEL", "DEBUG"), args);
    processes.add(p.process());
    return p;
  }

  JarProcess gateway(String heartbeat, int misses) throws IOException {
    JarProcess server = in(lab.server, "server", "server", "--host", NetnsLab.SERVER_IP, "--port", "7000",
        "--admin-port", "-1", "--heartbeat-interval", heartbeat, "--heartbeat-misses", String.valueOf(misses),
        "--io-threads", "1");
    await().atMost(Duration.ofSeconds(30)).until(() -> server.errContains("listening on " + NetnsLab.SERVER_IP));
    return server;
  }

  /** alice, next to the gateway, receives what bob sends. */
  JarProcess alice(int n) throws IOException {
    JarProcess alice = in(lab.server, "alice", "client", "--id", "alice", "--server", NetnsLab.SERVER_IP + ":7000",
        "--receive", String.valueOf(n), "--json", "--timeout", "120s");
    await().atMost(Duration.ofSeconds(30)).until(() -> alice.errContains("connected as alice"));
    return alice;
  }

  /** bob, behind the NAT, interactive: lines written to his stdin go to alice; he prints what he gets. */
  JarProcess bob() throws IOException {
    JarProcess bob = in(lab.client, "bob", "client", "--id", "bob", "--server", NetnsLab.SERVER_IP + ":7000",
        "--to", "alice", "--json");
    await().atMost(Duration.ofSeconds(30)).until(() -> bob.errContains("connected as bob"));
    return bob;
  }

  /** bob sends b0..b(n-1); his client queues them while it reconnects. */
  static void bobSends(JarProcess bob, int n) throws IOException {
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < n; i++) {
      lines.append('b').append(i).append('\n');
    }
    bob.process().getOutputStream().write(lines.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    bob.process().getOutputStream().flush();
  }

  /** carol, next to the gateway, sends m0..m(n-1) to bob and waits for their acks. */
  void carolSends(int n) throws Exception {
    JarProcess carol = in(lab.server, "carol" + System.nanoTime(), "client", "--id", "carol", "--server",
        NetnsLab.SERVER_IP + ":7000", "--to", "bob", "--send", "m", "--send-count", String.valueOf(n));
    assertThat(carol.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(carol.process().exitValue()).as(carol.errText()).isZero();
  }

  /**
   * Waits for both streams (carol → bob "m", bob → alice "b"), asserts each arrived exactly once in
   * order, prints the scenario's summary, then lets bob exit.
   */
  void assertBothWaysExactlyOnceInOrder(JarProcess alice, JarProcess bob, int n, String scenario, String detection)
      throws Exception {
    await().atMost(Duration.ofSeconds(90)).until(() -> payloads(bob).size() >= n && payloads(alice).size() >= n);
    assertThat(alice.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    List<String> toBob = payloads(bob);
    List<String> toAlice = payloads(alice);
    System.out.println(String.format("%s: sent %d+%d, delivered %d+%d, lost %d+%d, duplicated %d+%d, reordered %d+%d, "
            + "detection %s", scenario, n, n, toBob.size(), toAlice.size(), lost(toBob, n), lost(toAlice, n),
        duplicated(toBob), duplicated(toAlice), reordered(toBob), reordered(toAlice), detection));
    assertThat(toBob).isEqualTo(expected("m", n));
    assertThat(toAlice).isEqualTo(expected("b", n));
    assertThat(alice.process().exitValue()).as(alice.errText()).isZero();
    bob.process().getOutputStream().close(); // end of input: bob closes his session and exits
    assertThat(bob.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(bob.process().exitValue()).as(bob.errText()).isZero();
  }

  static List<String> expected(String prefix, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  static int lost(List<String> got, int n) {
    return n - new HashSet<>(got).size();
  }

  static int duplicated(List<String> got) {
    return got.size() - new HashSet<>(got).size();
  }

  static int reordered(List<String> got) {
    int r = 0;
    for (int i = 1; i < got.size(); i++) {
      if (Integer.parseInt(got.get(i).substring(1)) < Integer.parseInt(got.get(i - 1).substring(1))) {
        r++;
      }
    }
    return r;
  }

  @Test
  void heartbeatBelowTheNatTimeoutKeepsAnIdleClientConnected() throws Exception {
    lab = NetnsLab.create();
    lab.natExpiry(3);
    gateway("1s", 3);
    JarProcess alice = alice(20);
    JarProcess bob = bob();
    // Idle for three NAT timeouts: only heartbeats cross the router.
    await().during(Duration.ofSeconds(9)).atMost(Duration.ofSeconds(15))
        .until(() -> !bob.errContains("connection lost"));
    bobSends(bob, 20);
    carolSends(20);
    assertBothWaysExactlyOnceInOrder(alice, bob, 20, "nat-keepalive (NAT 3 s, heartbeat 1 s, idle 9 s)", "none needed");
    assertThat(bob.errText()).doesNotContain("connection lost");
  }

  @Test
  void heartbeatAboveTheNatTimeoutDetectsTheDeadPathAndResumes() throws Exception {
    lab = NetnsLab.create();
    lab.natExpiry(2);
    JarProcess server = gateway("3s", 2);
    JarProcess alice = alice(20);
    JarProcess bob = bob();
    // Idle past the 2 s NAT timeout: the mapping is gone, neither side knows.
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> !bob.errContains("connection lost"));
    long sentAt = System.nanoTime();
    bobSends(bob, 20); // into the dead path: kept unacknowledged, replayed after the resume
    carolSends(20); // buffered at the gateway; what it sends towards bob dies at the router
    await().atMost(Duration.ofSeconds(6 + 6)).until(() -> bob.errContains("heartbeat timeout"));
    double detected = (System.nanoTime() - sentAt) / 1e9;
    assertBothWaysExactlyOnceInOrder(alice, bob, 20, "nat-expiry (NAT 2 s, heartbeat 3 s x 2)",
        String.format("client %.1f s after the sends (bound 6 s + margin)", detected));
    assertThat(server.errText()).contains("resumed");
  }

  @Test
  void silentPartitionIsDetectedByTheServerAndTheClientResumesAfterHealing() throws Exception {
    lab = NetnsLab.create();
    JarProcess server = gateway("1s", 3);
    JarProcess alice = alice(30);
    JarProcess bob = bob();
    lab.partition();
    long cutAt = System.nanoTime();
    bobSends(bob, 30); // queued behind the partition
    carolSends(30); // buffered for bob
    await().atMost(Duration.ofSeconds(3 + 3)).until(() -> server.errText().matches("(?s).*client bob.*HEARTBEAT_TIMEOUT.*"));
    double serverDetected = (System.nanoTime() - cutAt) / 1e9;
    // Keep the partition for twice the heartbeat window, then heal.
    await().pollDelay(Duration.ofMillis(100)).atMost(Duration.ofSeconds(10))
        .until(() -> System.nanoTime() - cutAt >= TimeUnit.SECONDS.toNanos(6));
    lab.heal();
    assertBothWaysExactlyOnceInOrder(alice, bob, 30, "silent-partition (6 s, heartbeat 1 s x 3)",
        String.format("server %.1f s after the cut (bound 3 s + sweep)", serverDetected));
    assertThat(bob.errText()).contains("connection lost");
  }

  @Test
  void tcpUserTimeoutFreesAConnectionWithDataInFlightToAVanishedPeer() throws Exception {
    lab = NetnsLab.create();
    // Heartbeats far too slow to notice (60 s x 3): only TCP_USER_TIMEOUT can find the dead peer.
    JarProcess server = in(lab.server, "server", "server", "--host", NetnsLab.SERVER_IP, "--port", "7000",
        "--admin-port", "-1", "--heartbeat-interval", "60s", "--io-threads", "1", "--tcp-user-timeout", "2s");
    await().atMost(Duration.ofSeconds(30)).until(() -> server.errContains("listening on " + NetnsLab.SERVER_IP));
    bob();
    lab.partition();
    long cutAt = System.nanoTime();
    carolSends(5); // data in flight to bob that will never be acknowledged
    await().atMost(Duration.ofSeconds(15)).until(() -> server.errText().matches("(?s).*client bob.*(timed out|I/O error).*"));
    double detected = (System.nanoTime() - cutAt) / 1e9;
    System.out.println(String.format("tcp-user-timeout: the gateway dropped bob's connection %.1f s after the cut "
        + "(user timeout 2 s, heartbeat window 180 s)", detected));
    assertThat(detected).isLessThan(10);
  }

  /**
   * Fallback tiers through real packet filtering: the gateway's port blocked silently (nftables drop,
   * no RST) moves bob to its alternative port 443; that blocked too, to its WebSocket listener on 80;
   * that too, to a relay on the router (another host, reached without crossing the blocked path);
   * unblocked, his probe finds the direct port and the session moves back. Messages both ways all along arrive exactly once, in order.
   */
  @Test
  void blockedPortsMoveTheClientToTheAlternativePortThenTheRelayAndBackWhenUnblocked() throws Exception {
    lab = NetnsLab.create();
    JarProcess server = in(lab.server, "server", "server", "--host", NetnsLab.SERVER_IP, "--port", "7000",
        "--alt-port", "443", "--ws-port", "80", "--admin-port", "-1", "--heartbeat-interval", "1s", "--heartbeat-misses", "3",
        "--io-threads", "1");
    await().atMost(Duration.ofSeconds(30)).until(() -> server.errContains("also listening on " + NetnsLab.SERVER_IP));
    JarProcess relay = in(lab.router, "relay", "relay", "--listen", NetnsLab.ROUTER_IP + ":7443", "--upstream",
        NetnsLab.SERVER_IP + ":7000", "--health-interval", "500ms", "--connect-timeout", "1s");
    await().atMost(Duration.ofSeconds(30)).until(() -> relay.errContains("relay listening on"));
    int n = 10;
    int batches = 5;
    JarProcess alice = alice(batches * n);
    JarProcess bob = in(lab.client, "bob", "client", "--id", "bob", "--server", NetnsLab.SERVER_IP + ":7000",
        "--to", "alice", "--json", "--alt-port", "443", "--ws-fallback", "ws://" + NetnsLab.SERVER_IP + ":80/longlink",
        "--relay", NetnsLab.ROUTER_IP + ":7443",
        "--fallback-after", "2", "--probe-direct-every", "3s", "--connect-timeout", "2s");
    await().atMost(Duration.ofSeconds(30)).until(() -> bob.errContains("connected as bob"));
    List<String> report = new ArrayList<>();
    batch(bob, 0, n);

    lab.blockPort(7000);
    long blocked = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).until(() -> bob.errContains("route direct -> alternative_port (failed)")
        && count(bob, "connected as bob") >= 2);
    report.add(String.format("direct blocked -> alternative port %.1f s", (System.nanoTime() - blocked) / 1e9));
    batch(bob, 1, n);

    lab.blockPort(443);
    blocked = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).until(() -> bob.errContains("route alternative_port -> websocket (failed)")
        && count(bob, "connected as bob") >= 3);
    report.add(String.format("alternative port blocked -> WebSocket on 80 %.1f s", (System.nanoTime() - blocked) / 1e9));
    batch(bob, 2, n);

    lab.blockPort(80);
    blocked = System.nanoTime();
    try {
      await().atMost(Duration.ofSeconds(30)).until(() -> bob.errContains("route websocket -> relay (failed)")
          && count(bob, "connected as bob") >= 4);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("bob:\n" + bob.errText() + "\nrelay:\n" + relay.errText(), e);
    }
    report.add(String.format("WebSocket blocked -> relay %.1f s", (System.nanoTime() - blocked) / 1e9));
    batch(bob, 3, n);

    lab.heal();
    long healed = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).until(() -> bob.errContains("route relay -> direct (direct_works)")
        && count(bob, "connected as bob") >= 5);
    report.add(String.format("unblocked -> direct %.1f s (probe every 3 s)", (System.nanoTime() - healed) / 1e9));
    batch(bob, 4, n);

    await().atMost(Duration.ofSeconds(60))
        .until(() -> payloads(bob).size() >= batches * n && payloads(alice).size() >= batches * n);
    assertThat(alice.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    System.out.println("fallback-tiers: " + String.join(", ", report) + "; " + batches * n + "+" + batches * n
        + " messages exactly once in order");
    assertThat(payloads(bob)).isEqualTo(batches("m", batches, n));
    assertThat(payloads(alice)).isEqualTo(batches("b", batches, n));
    assertThat(bob.errText()).doesNotContain("SESSION_LOST");
    bob.process().getOutputStream().close();
    assertThat(bob.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  /** Batch {@code b}: bob sends b{b}-0.. to alice; carol, beside the gateway, sends m{b}-0.. to bob. */
  void batch(JarProcess bob, int b, int n) throws Exception {
    NetnsOutput.typeBatch(bob, "b", b, n);
    JarProcess carol = in(lab.server, "carol" + System.nanoTime(), "client", "--id", "carol", "--server",
        NetnsLab.SERVER_IP + ":7000", "--to", "bob", "--send", "m" + b + "-", "--send-count", String.valueOf(n));
    assertThat(carol.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(carol.process().exitValue()).as(carol.errText()).isZero();
  }

  @Test
  void oneWayLossCostsNothing() throws Exception {
    lab = NetnsLab.create();
    gateway("1s", 5);
    JarProcess alice = alice(200);
    JarProcess bob = bob();
    lab.oneWayLoss(20);
    bobSends(bob, 200);
    carolSends(200);
    assertBothWaysExactlyOnceInOrder(alice, bob, 200, "one-way-loss (20 % client->server)", "n/a");
  }
}
