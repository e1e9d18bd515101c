package io.longlink.bench;

import io.longlink.protocol.TargetKind;
import picocli.CommandLine.Command;

/** {@code longlink bench throughput}: one sender to one receiver, open loop. */
@Command(name = "throughput", mixinStandardHelpOptions = true,
    description = "Reliable one-to-one flow: a raw-protocol sender offers --rate msg/s to one receiver through the "
        + "gateway (numbered, acked, buffered); reports deliveries/s, loss/duplicates/reordering and latency from "
        + "the intended send time (coordinated-omission aware).")
final class ThroughputBench extends FlowBench {
  @Override
  String name() {
    return "throughput";
  }

  @Override
  int receivers() {
    return 1;
  }

  @Override
  TargetKind target() {
    return TargetKind.CLIENT;
  }
}
