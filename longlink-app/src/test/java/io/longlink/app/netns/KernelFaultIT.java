package io.longlink.app.netns;

import static org.assertj.core.api.Assertions.assertThat;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
  static final Pattern PAYLOAD = Pattern.compile("\"payload\":\"([^\"]*)\"");

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

  /** bob, behind the NAT, waiting for n messages. */
  JarProcess bob(int n) throws IOException {
    JarProcess bob = in(lab.client, "bob", "client", "--id", "bob", "--server", NetnsLab.SERVER_IP + ":7000",
        "--receive", String.valueOf(n), "--json", "--timeout", "120s");
    await().atMost(Duration.ofSeconds(30)).until(() -> bob.errContains("connected as bob"));
    return bob;
  }

  /** alice, next to the gateway, sends n messages to bob and waits for their acks. */
  void aliceSends(int n) throws Exception {
    JarProcess alice = in(lab.server, "alice" + System.nanoTime(), "client", "--id", "alice", "--server",
        NetnsLab.SERVER_IP + ":7000", "--to", "bob", "--send", "m", "--send-count", String.valueOf(n));
    assertThat(alice.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(alice.process().exitValue()).as(alice.errText()).isZero();
  }

  /** Asserts bob got m0..m(n-1) exactly once, in order; prints the scenario's summary. */
  void assertExactlyOnceInOrder(JarProcess bob, int n, String scenario, String detection) throws Exception {
    assertThat(bob.process().waitFor(120, TimeUnit.SECONDS)).as("bob finished").isTrue();
    List<String> payloads = new ArrayList<>();
    for (String line : bob.outLines()) {
      Matcher m = PAYLOAD.matcher(line);
      if (m.find()) {
        payloads.add(m.group(1));
      }
    }
    Set<String> seen = new HashSet<>(payloads);
    int duplicated = payloads.size() - seen.size();
    int reordered = 0;
    for (int i = 1; i < payloads.size(); i++) {
      if (Integer.parseInt(payloads.get(i).substring(1)) < Integer.parseInt(payloads.get(i - 1).substring(1))) {
        reordered++;
      }
    }
    System.out.println(String.format("%s: sent %d, delivered %d, lost %d, duplicated %d, reordered %d, detection %s", scenario, n,
        payloads.size(), n - seen.size(), duplicated, reordered, detection));
    assertThat(bob.process().exitValue()).as(bob.errText()).isZero();
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      expected.add("m" + i);
    }
    assertThat(payloads).isEqualTo(expected);
  }

  @Test
  void heartbeatBelowTheNatTimeoutKeepsAnIdleClientConnected() throws Exception {
    lab = NetnsLab.create();
    lab.natExpiry(3);
    gateway("1s", 3);
    JarProcess bob = bob(20);
    // Idle for three NAT timeouts: only heartbeats cross the router.
    await().during(Duration.ofSeconds(9)).atMost(Duration.ofSeconds(15))
        .until(() -> !bob.errContains("connection lost"));
    aliceSends(20);
    assertExactlyOnceInOrder(bob, 20, "nat-keepalive (NAT 3 s, heartbeat 1 s, idle 9 s)", "none needed");
    assertThat(bob.errText()).doesNotContain("connection lost");
  }

  @Test
  void heartbeatAboveTheNatTimeoutDetectsTheDeadPathAndResumes() throws Exception {
    lab = NetnsLab.create();
    lab.natExpiry(2);
    JarProcess server = gateway("3s", 2);
    JarProcess bob = bob(20);
    // Idle past the 2 s NAT timeout: the mapping is gone, neither side knows.
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> !bob.errContains("connection lost"));
    long sentAt = System.nanoTime();
    aliceSends(20); // buffered at the gateway; what it sends towards bob dies at the router
    await().atMost(Duration.ofSeconds(6 + 6)).until(() -> bob.errContains("heartbeat timeout"));
    double detected = (System.nanoTime() - sentAt) / 1e9;
    assertExactlyOnceInOrder(bob, 20, "nat-expiry (NAT 2 s, heartbeat 3 s x 2)",
        String.format("client %.1f s after the send (bound 6 s + margin)", detected));
    assertThat(server.errText()).contains("resumed");
  }

  @Test
  void silentPartitionIsDetectedByTheServerAndTheClientResumesAfterHealing() throws Exception {
    lab = NetnsLab.create();
    JarProcess server = gateway("1s", 3);
    JarProcess bob = bob(30);
    lab.partition();
    long cutAt = System.nanoTime();
    aliceSends(30); // buffered for bob
    await().atMost(Duration.ofSeconds(3 + 3)).until(() -> server.errText().matches("(?s).*client bob.*HEARTBEAT_TIMEOUT.*"));
    double serverDetected = (System.nanoTime() - cutAt) / 1e9;
    // Keep the partition for twice the heartbeat window, then heal.
    await().pollDelay(Duration.ofMillis(100)).atMost(Duration.ofSeconds(10))
        .until(() -> System.nanoTime() - cutAt >= TimeUnit.SECONDS.toNanos(6));
    lab.heal();
    assertExactlyOnceInOrder(bob, 30, "silent-partition (6 s, heartbeat 1 s x 3)",
        String.format("server %.1f s after the cut (bound 3 s + sweep)", serverDetected));
    assertThat(bob.errText()).contains("connection lost");
  }

  @Test
  void oneWayLossCostsNothing() throws Exception {
    lab = NetnsLab.create();
    gateway("1s", 5);
    JarProcess bob = bob(200);
    lab.oneWayLoss(20);
    aliceSends(200);
    assertExactlyOnceInOrder(bob, 200, "one-way-loss (20 % client->server)", "n/a");
  }
}
