package io.longlink.bench;

import io.longlink.protocol.TargetKind;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code longlink bench fanout}: one publisher to a topic with many subscribers, open loop. */
@Command(name = "fanout", mixinStandardHelpOptions = true,
    description = "Reliable fan-out: a raw-protocol publisher offers --rate msg/s to a topic with --subscribers "
        + "raw-protocol subscribers; reports deliveries/s, loss/duplicates/reordering and latency from the "
        + "intended send time (coordinated-omission aware).")
final class FanoutBench extends FlowBench {
  @Option(names = "--subscribers", defaultValue = "1000", description = "Subscribers (default: ${DEFAULT-VALUE}).")
  int subscribers;

  @Override
  String name() {
    return "fanout";
  }

  @Override
  int receivers() {
    return subscribers;
  }

  @Override
  TargetKind target() {
    return TargetKind.TOPIC;
  }
}
