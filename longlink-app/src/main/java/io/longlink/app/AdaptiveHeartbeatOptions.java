package io.longlink.app;

import io.longlink.client.AdaptiveHeartbeat;
import io.longlink.client.heartbeat.HeartbeatStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/** {@code longlink client}'s adaptive heartbeat options (docs/OPERATIONS.md, "Adaptive heartbeat"). */
final class AdaptiveHeartbeatOptions {
  @Option(names = "--adaptive-heartbeat", description = "Learn the longest heartbeat interval this network's NAT "
      + "allows, within the gateway's --heartbeat-min/--heartbeat-max, and remember it per network.")
  boolean enabled;

  @Option(names = "--network-id", paramLabel = "NAME", description = "With --adaptive-heartbeat: the network's name "
      + "(a Wi-Fi SSID, a carrier); default: the local address and the gateway's endpoint.")
  String networkId;

  @Option(names = "--heartbeat-store", paramLabel = "FILE", description = "With --adaptive-heartbeat: where learned "
      + "intervals are kept (default: ~/.longlink/heartbeat.tsv, the 64 most recent networks).")
  Path store;

  @Option(names = "--heartbeat-step", defaultValue = "1.15", description = "With --adaptive-heartbeat: how much "
      + "longer each step is (default: ${DEFAULT-VALUE}).")
  double step;

  @Option(names = "--heartbeat-beats", defaultValue = "3", paramLabel = "N", description = "With --adaptive-heartbeat: "
      + "idle periods survived in a row before the next step (default: ${DEFAULT-VALUE}).")
  int beatsToGrow;

  @Option(names = "--pong-timeout", defaultValue = "10s", description = "With --adaptive-heartbeat: how long the PING "
      + "after an idle period may go unanswered before the connection counts as dead from NAT expiry "
      + "(default: ${DEFAULT-VALUE}).")
  Duration pongTimeout;

  @Option(names = "--relearn-after", defaultValue = "6h", description = "With --adaptive-heartbeat: how long an "
      + "interval is held before longer ones are tried again (default: ${DEFAULT-VALUE}).")
  Duration relearnAfter;

  /** The settings, or {@code null} without --adaptive-heartbeat. */
  AdaptiveHeartbeat settings() throws IOException {
    if (!enabled) {
      return null;
    }
    Path file = store != null ? store : Path.of(System.getProperty("user.home"), ".longlink", "heartbeat.tsv");
    AdaptiveHeartbeat.Builder b = AdaptiveHeartbeat.builder()
        .store(HeartbeatStore.file(file, AdaptiveHeartbeat.DEFAULT_MAX_NETWORKS))
        .step(step)
        .beatsToGrow(beatsToGrow)
        .pongTimeout(pongTimeout)
        .relearnAfter(relearnAfter);
    if (networkId != null) {
      String n = networkId;
      b.network(() -> n);
    }
    return b.build();
  }
}
