package io.longlink.app;

import io.longlink.client.Fallback;
import io.longlink.protocol.HostPort;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code longlink client}'s fallback tier options (docs/OPERATIONS.md, "Fallback tiers"). */
final class FallbackOptions {
  @Option(names = "--alt-port", paramLabel = "PORT", description = "The gateway's alternative port (its --alt-port), "
      + "tried on --server's host when the main port fails (repeatable).")
  List<Integer> altPorts = new ArrayList<>();

  @Option(names = "--ws-fallback", paramLabel = "URL", description = "A gateway's WebSocket URL (ws:// or wss://, "
      + "e.g. on 443) for networks that pass only HTTP(S), tried after the alternative ports (repeatable).")
  List<String> webSockets = new ArrayList<>();

  @Option(names = "--relay", paramLabel = "HOST:PORT", description = "A relay (longlink relay) to fall back to when "
      + "neither the main nor the alternative ports work (repeatable).")
  List<String> relays = new ArrayList<>();

  @Option(names = "--fallback-after", defaultValue = "2", paramLabel = "N", description = "Failed rounds in a row "
      + "before the next tier (default: ${DEFAULT-VALUE}).")
  int failuresBeforeFallback;

  @Option(names = "--probe-direct-every", defaultValue = "60s", description = "On a fallback tier, how often the "
      + "main port is probed; when it connects, the session moves back to it (default: ${DEFAULT-VALUE}).")
  Duration probeDirectEvery;

  /** The tiers, or {@code null} when none of --alt-port, --ws-fallback, --relay is given. */
  Fallback fallback() {
    if (altPorts.isEmpty() && relays.isEmpty() && webSockets.isEmpty()) {
      return null;
    }
    Fallback.Builder b = Fallback.builder().failuresBeforeFallback(failuresBeforeFallback)
        .probeDirectEvery(probeDirectEvery);
    for (int p : altPorts) {
      b.altPorts(p);
    }
    for (String w : webSockets) {
      b.webSocket(w);
    }
    for (String r : relays) {
      b.relay(HostPort.parse(r, "--relay"));
    }
    return b.build();
  }
}
