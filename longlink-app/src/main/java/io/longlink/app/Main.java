package io.longlink.app;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import io.longlink.cli.Durations;

/** The {@code longlink} command: the gateway, a scriptable client, and the tools. */
@Command(
    name = "longlink",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Long-connection (persistent TCP) gateway and client.",
    subcommands = {ServerCommand.class, ClientCommand.class, ChaosCommand.class, RelayCommand.class, io.longlink.bench.BenchCommand.class,
        DoctorCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs the command line and returns its exit code; the entry point for tests too. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    io.longlink.bench.BenchCommand.serverMainClass(Main.class.getName()); // bench storm starts real gateways
    CommandLine cl = new CommandLine(new Main());
    cl.registerConverter(java.time.Duration.class, Durations::parse);
    cl.setOut(out);
    cl.setErr(err);
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    // A value the command's own checks refuse (a config builder, a bench option) is a usage error:
    // its message names the value and what was expected, a stack trace would add nothing.
    cl.setExecutionExceptionHandler((e, command, parsed) -> {
      if (!(e instanceof IllegalArgumentException)) {
        throw e;
      }
      command.getErr().println("longlink " + command.getCommandName() + ": " + e.getMessage());
      return 2;
    });
    if (args.length > 0 && args[0].equals("bench")) {
      LogFormat.quietLifecycle();
    }
    Path config = configFileArgument(args);
    if (config != null) {
      if (!Files.isReadable(config)) {
        err.println("longlink: config file " + config + " is not readable");
        return 2;
      }
      cl.getSubcommands().get("server").setDefaultValueProvider(new CommandLine.PropertiesDefaultProvider(config.toFile()));
    }
    return cl.execute(args);
  }

  /** {@code --config FILE} or {@code --config=FILE}, looked up before parsing: it feeds the defaults. */
  private static Path configFileArgument(String[] args) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        return Path.of(args[i + 1]);
      }
      if (args[i].startsWith("--config=")) {
        return Path.of(args[i].substring("--config=".length()));
      }
    }
    return null;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"longlink " + (v == null ? "dev" : v) + " (protocol version 1, Java " + Runtime.version() + ")"};
    }
  }
}
