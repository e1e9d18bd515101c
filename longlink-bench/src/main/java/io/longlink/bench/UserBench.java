package io.longlink.bench;

import io.longlink.protocol.TargetKind;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code longlink bench user}: one sender to a user signed in on several devices, open loop. */
@Command(name = "user", mixinStandardHelpOptions = true,
    description = "Reliable user-addressed flow: a raw-protocol sender offers --rate msg/s to one user whose "
        + "--devices raw-protocol receivers are its devices (protocol version 3), each with its own sequence; "
        + "reports deliveries/s, loss/duplicates/reordering per device and latency from the intended send time "
        + "(coordinated-omission aware). --receivers-on with several nodes spreads the devices over a cluster.")
final class UserBench extends FlowBench {
  @Option(names = "--devices", defaultValue = "3", description = "Devices of the user (default: ${DEFAULT-VALUE}).")
  int devices;

  @Override
  String name() {
    return "user";
  }

  @Override
  int receivers() {
    return devices;
  }

  @Override
  TargetKind target() {
    return TargetKind.USER;
  }
}
