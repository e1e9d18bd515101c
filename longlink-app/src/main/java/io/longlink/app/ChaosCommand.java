package io.longlink.app;

import io.longlink.chaos.ChaosControl;
import io.longlink.chaos.ChaosProxy;
import io.longlink.protocol.HostPort;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code longlink chaos}: a fault-injecting TCP proxy in front of a gateway (docs/CHAOS.md). */
@Command(
    name = "chaos",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a fault-injecting TCP proxy: clients connect to --listen, traffic goes to --upstream, and toxics "
          + "(latency, bandwidth, slicer, blackhole, reset, close, limit_data, timeout) are added and removed at "
          + "run time through the HTTP control API on --control. See docs/CHAOS.md."
    })
final class ChaosCommand implements Callable<Integer> {
  @Option(names = "--listen", defaultValue = "127.0.0.1:7100", paramLabel = "HOST:PORT",
      description = "Where clients connect (default: ${DEFAULT-VALUE}).")
  String listen;

  @Option(names = "--upstream", defaultValue = "127.0.0.1:7000", paramLabel = "HOST:PORT",
      description = "Where traffic goes (default: ${DEFAULT-VALUE}).")
  String upstream;

  @Option(names = "--control", defaultValue = "127.0.0.1:7474", paramLabel = "HOST:PORT",
      description = "HTTP control API (default: ${DEFAULT-VALUE}).")
  String control;

  @Option(names = "--name", defaultValue = "longlink", description = "Proxy name in the API (default: ${DEFAULT-VALUE}).")
  String name;

  @Override
  public Integer call() throws Exception {
    ChaosProxy proxy = ChaosProxy.builder(name).listen(HostPort.parse(listen, "--listen")).upstream(HostPort.parse(upstream, "--upstream"))
        .build().start();
    ChaosControl api = ChaosControl.start(HostPort.parse(control, "--control")).register(proxy);
    UntilStopped.await(() -> {
      api.close();
      proxy.close();
    });
    return 0;
  }
}
