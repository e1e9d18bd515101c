package io.longlink.cli;

import io.longlink.server.Limits;
import io.longlink.server.ServerConfig;
import io.longlink.server.TcpOptions;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The gateway's bounds per node, address and connection, and its admission control ({@link Limits}):
 * a picocli mixin of {@code longlink server}. The benches measure the gateway itself and run with
 * {@link Limits#none()}.
 */
public final class LimitOptions {
  @Option(names = "--max-connections", defaultValue = "1000000",
      description = "Open connections per node; 0 = no bound (default: ${DEFAULT-VALUE}).")
  int maxConnections;

  @Option(names = "--max-connections-per-address", defaultValue = "0",
      description = "Open connections per remote IP; 0 = off, the default (clients behind one NAT share an address).")
  int maxConnectionsPerAddress;

  @Option(names = "--max-new-connections-per-second-per-address", defaultValue = "0",
      description = "New connections per second per remote IP; 0 = off (default).")
  int maxNewConnectionsPerSecondPerAddress;

  @Option(names = "--max-inbound-messages-per-second", defaultValue = "10000",
      description = "Frames per second one connection may send, at most 32767; 0 = no bound (default: ${DEFAULT-VALUE}).")
  int maxInboundMessagesPerSecond;

  @Option(names = "--max-inbound-bytes-per-second", defaultValue = "16777216",
      description = "Bytes per second one connection may send; 0 = no bound (default: ${DEFAULT-VALUE}).")
  int maxInboundBytesPerSecond;

  @Option(names = "--max-subscriptions", defaultValue = "1000",
      description = "Topics one session may subscribe to; 0 = no bound (default: ${DEFAULT-VALUE}).")
  int maxSubscriptions;

  @Option(names = "--max-handshakes-per-second", defaultValue = "10000",
      description = "Admission control: logins and resumes per second per node; past it clients get GOAWAY "
          + "RATE_LIMITED with a spread retry-after; 0 = off (default: ${DEFAULT-VALUE}).")
  int maxHandshakesPerSecond;

  @Option(names = "--handshake-burst", defaultValue = "20000",
      description = "Logins admitted at once before the per-second rate applies (default: ${DEFAULT-VALUE}).")
  int handshakeBurst;

  @Option(names = "--handshake-retry-window", defaultValue = "10s",
      description = "Refused logins are told to retry after a delay drawn from [0, this] (default: ${DEFAULT-VALUE}).")
  Duration handshakeRetryWindow;

  /** These bounds. */
  public Limits limits() {
    return new Limits(maxConnections, maxConnectionsPerAddress, maxNewConnectionsPerSecondPerAddress,
        maxInboundMessagesPerSecond, maxInboundBytesPerSecond, maxSubscriptions, maxHandshakesPerSecond,
        handshakeBurst, (int) Math.min(Integer.MAX_VALUE, handshakeRetryWindow.toMillis()));
  }
}
