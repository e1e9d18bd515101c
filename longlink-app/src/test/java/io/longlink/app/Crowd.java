package io.longlink.app;

import io.longlink.client.ClientListener;
import io.longlink.client.ClientState;
import io.longlink.client.LonglinkClient;
import io.longlink.client.LonglinkException;
import io.longlink.protocol.ErrorCode;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A crowd of SDK clients in a process of its own, so a test can put more clients on one gateway than
 * one process's open-file limit allows for both ends: {@link #start} launches it; it connects them
 * all at once, writes {@code connected N refused R} to its report file, and stays until its stdin
 * closes. Its own output (logs) goes to {@code <report>.log}.
 */
final class Crowd {
  private Crowd() {}

  /** Launches {@code count} clients {@code prefix0..} against {@code host:port}. */
  static Process start(String host, int port, int count, String prefix, Path report) throws java.io.IOException {
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
        Crowd.class.getName(), host, Integer.toString(port), Integer.toString(count), prefix, report.toString())
        .redirectErrorStream(true).redirectOutput(logOf(report).toFile()).start();
  }

  /** The crowd's report once all its clients are in, or an error with the end of its log. */
  static String awaitReport(Process p, Path report, long timeoutSeconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(timeoutSeconds))
        .until(() -> Files.exists(report) || !p.isAlive() || System.nanoTime() > deadline);
    if (!Files.exists(report)) {
      List<String> log = Files.readAllLines(logOf(report));
      throw new AssertionError("crowd failed (exit " + (p.isAlive() ? "-" : p.exitValue()) + "); log ends: "
          + log.subList(Math.max(0, log.size() - 20), log.size()));
    }
    return Files.readString(report).strip();
  }

  private static Path logOf(Path report) {
    return report.resolveSibling(report.getFileName() + ".log");
  }

  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    int count = Integer.parseInt(args[2]);
    LongAdder refused = new LongAdder();
    ClientListener countRefusals = new ClientListener() {
      @Override
      public void onStateChanged(ClientState previous, ClientState current, Throwable cause) {
        if (cause instanceof LonglinkException e && e.code() == ErrorCode.RATE_LIMITED) {
          refused.increment();
        }
      }
    };
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    List<LonglinkClient> clients = new ArrayList<>(count);
    List<CompletableFuture<Void>> logins = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      LonglinkClient c = LonglinkClient.builder().endpoint(host, port).clientId(args[3] + i).eventLoopGroup(group)
          .retryInitialConnect(true).listener(countRefusals).build();
      clients.add(c);
      logins.add(c.connect());
    }
    CompletableFuture.allOf(logins.toArray(new CompletableFuture[0])).get(120, TimeUnit.SECONDS);
    Path report = Path.of(args[4]);
    Path tmp = report.resolveSibling(report.getFileName() + ".tmp");
    Files.writeString(tmp, "connected " + count + " refused " + refused.sum() + "\n");
    Files.move(tmp, report, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    while (System.in.read() >= 0) {
      // stay until the test closes our stdin
    }
    clients.forEach(LonglinkClient::close);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
