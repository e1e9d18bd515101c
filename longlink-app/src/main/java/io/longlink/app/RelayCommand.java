package io.longlink.app;

import io.longlink.app.relay.Relay;
import io.longlink.protocol.HostPort;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code longlink relay}: the last fallback tier, a protocol-blind TCP relay to gateway nodes (docs/OPERATIONS.md). */
@Command(
    name = "relay",
    mixinStandardHelpOptions = true,
    description = {
      "Relays TCP connections from --listen to the first healthy --upstream gateway node (in order; a TCP "
          + "connect every --health-interval decides). Protocol-blind: TLS and WebSocket pass through; sessions "
          + "resume through it. For clients whose network reaches no node directly (SDK fallback tier 'relay')."
    })
final class RelayCommand implements Callable<Integer> {
  @Option(names = "--listen", defaultValue = "0.0.0.0:7443", paramLabel = "HOST:PORT",
      description = "Where clients connect (default: ${DEFAULT-VALUE}).")
  String listen;

  @Option(names = "--upstream", required = true, split = ",", paramLabel = "HOST:PORT",
      description = "Gateway nodes, in order of preference (comma-separated or repeated).")
  List<String> upstream;

  @Option(names = "--connect-timeout", defaultValue = "3s",
      description = "Connect timeout to an upstream, for relayed connections and health checks (default: ${DEFAULT-VALUE}).")
  Duration connectTimeout;

  @Option(names = "--health-interval", defaultValue = "2s",
      description = "How often each upstream is checked (default: ${DEFAULT-VALUE}).")
  Duration healthInterval;

  @Override
  public Integer call() throws Exception {
    List<InetSocketAddress> ups = new ArrayList<>();
    for (String u : upstream) {
      ups.add(HostPort.parse(u.trim(), "--upstream"));
    }
    Relay relay = new Relay(HostPort.parse(listen, "--listen"), ups, connectTimeout, healthInterval).start();
    UntilStopped.await(relay::close);
    return 0;
  }
}
