package io.longlink.cli;

import io.longlink.server.Limits;
import io.longlink.server.ServerConfig;
import io.longlink.server.TcpOptions;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * When the gateway acknowledges a client's messages ({@code --ack-batch}, {@code --ack-delay}): a
 * picocli mixin of {@code longlink server}, apart from {@link GatewayOptions} because the flow benches
 * use these names for their load generator's own acknowledgements.
 */
public final class AckOptions {
  @Option(names = "--ack-batch", defaultValue = "64",
      description = "The node acknowledges a client's messages at the latest after this many (default: ${DEFAULT-VALUE}).")
  int ackBatch;

  @Option(names = "--ack-delay", defaultValue = "0s",
      description = "Acknowledge this long after the first unacknowledged client message instead of at the end of each "
          + "read: fewer ACK frames (and system calls) for clients that send often, at the cost of that much more "
          + "replay buffering on their side (default: ${DEFAULT-VALUE}).")
  Duration ackDelay;

  /** These settings on {@code b}. */
  public ServerConfig.Builder applyTo(ServerConfig.Builder b) {
    return b.ackBatchMessages(ackBatch).ackDelay(ackDelay);
  }
}
