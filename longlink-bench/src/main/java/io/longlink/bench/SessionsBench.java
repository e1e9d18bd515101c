package io.longlink.bench;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.ObjectName;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import io.longlink.server.NodeStats;

/**
 * {@code longlink bench sessions}: a million sessions in one process without sockets. The gateway
 * runs on the in-memory transport with its real pipeline, session store, liveness sweeper and replay
 * buffers; lean clients on local channels log in, answer heartbeats and acknowledge messages.
 * Everything is measured at N/2 and at N, so a cost that grows faster than linearly shows.
 */
@Command(name = "sessions", mixinStandardHelpOptions = true,
    description = "A million sessions without sockets: the real gateway pipeline, session store, heartbeat "
        + "supervision and replay buffers over in-memory channels. Reports heap per session, the CPU of a "
        + "heartbeat round, the liveness sweep time and a publish round to every session, at N/2 and N. Needs "
        + "about 3 KB of heap per session (LONGLINK_JAVA_OPTS=-Xmx...).")
final class SessionsBench implements Callable<Integer> {
  private static final String CLIENT_THREADS = "bench-client";

  @Spec CommandSpec spec;

  @Option(names = "--count", defaultValue = "1000000", description = "Sessions (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--heartbeat", defaultValue = "30s", description = "Heartbeat interval the gateway announces (default: ${DEFAULT-VALUE}).")
  Duration heartbeat;

  @Option(names = "--in-flight", defaultValue = "500", description = "Most logins in flight (default: ${DEFAULT-VALUE}).")
  int inFlight;

  @Option(names = "--out", description = "Write the result as JSON to this file.")
  Path out;

  private final AtomicLong welcomes = new AtomicLong();
  private final AtomicLong pongs = new AtomicLong();
  private final AtomicLong deliveries = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final java.util.Map<String, AtomicLong> failureReasons = new java.util.concurrent.ConcurrentHashMap<>();
  private Channel[] channels;

  /** Measurements at one session count. */
  record Point(int sessions, long heapBytes, long longlinkBytes, double loginSeconds, double heartbeatWallMs,
      double heartbeatCpuMs, double sweepMs, double idleWindowSweepMs, double trimSweepMs, double publishWallMs,
      double publishCpuMs) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter console = spec.commandLine().getOut();
    if (count < 2) {
      throw new IllegalArgumentException("--count: " + count + " (expected: >= 2)");
    }
    channels = new Channel[count];
    ServerConfig config = ServerConfig.builder().transport(ServerConfig.Transport.IN_MEMORY).port(0)
        .limits(io.longlink.server.Limits.none())
        .heartbeatInterval(heartbeat).sweepInterval(Duration.ofMillis(500)).build();
    EventLoopGroup clients = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory(CLIENT_THREADS),
        LocalIoHandler.newFactory());
    try (LonglinkServer server = LonglinkServer.builder().config(config).build().start()) {
      Bootstrap b = new Bootstrap().group(clients).channel(LocalChannel.class).handler(new LeanClient());
      long[] base = heapAndLonglinkBytes();
      Point half = grow(server, b, 0, count / 2, base, console);
      Point full = grow(server, b, count / 2, count, base, console);
      long failed = failures.get();
      failureReasons.forEach((reason, n) -> console.println("failed: " + n + " x " + reason));
      double perSessionHalf = (half.heapBytes - base[0]) / (double) half.sessions;
      double slope = (full.heapBytes - half.heapBytes) / (double) (full.sessions - half.sessions);
      double longlinkSlope = (full.longlinkBytes - half.longlinkBytes) / (double) (full.sessions - half.sessions);
      // The gateway drops emptied replay buffers at its next window turn (once a second): wait it out.
      awaitWindowTurns(server, 2);
      long[] after = heapAndLonglinkBytes();
      double afterPublish = (after[0] - full.heapBytes) / (double) full.sessions;
      double longlinkAfterPublish = (after[1] - full.longlinkBytes) / (double) full.sessions;
      console.println(String.format(Locale.ROOT, "sessions: %,d logged in, %d failed; heap per session %.0f B "
              + "(0..N/2: %.0f B), of which longlink's own objects %.0f B (the rest is both ends of the in-memory "
              + "transport)", welcomes.get(), failed, slope, perSessionHalf, longlinkSlope));
      for (Point p : new Point[] {half, full}) {
        console.println(String.format(Locale.ROOT, "at %,d: heartbeat round %.0f ms wall / %.0f ms gateway CPU "
                + "(%.2f%% of one core at a %d s interval), liveness sweep (mean, idle) %.2f ms, %.2f ms when it also "
                + "turns the one-second window, %.2f ms for the two such turns after the round; publish round (one "
                + "message each, acked) %.0f ms wall / %.0f ms gateway CPU", p.sessions, p.heartbeatWallMs,
            p.heartbeatCpuMs, p.heartbeatCpuMs / heartbeat.toMillis() * 100, heartbeat.toSeconds(), p.sweepMs,
            p.idleWindowSweepMs, p.trimSweepMs, p.publishWallMs, p.publishCpuMs));
      }
      console.println(String.format(Locale.ROOT, "after the publish rounds: longlink's objects %+.0f B per session "
          + "(replay buffers released once acked); whole heap %+.0f B per session (buffer pool chunks the allocator "
          + "keeps after a burst)", longlinkAfterPublish, afterPublish));
      BenchCommand.write(out, String.format(Locale.ROOT, "{\"bench\":\"sessions\",\"count\":%d,\"connected\":%d,"
              + "\"failed\":%d,\"heap_bytes_per_session\":%.1f,\"heap_bytes_per_session_first_half\":%.1f,"
              + "\"longlink_bytes_per_session\":%.1f,\"heap_bytes_per_session_after_publish\":%.1f,"
              + "\"longlink_bytes_per_session_after_publish\":%.1f,\"points\":[%s,%s]}",
          count, welcomes.get(), failed, slope, perSessionHalf, longlinkSlope, afterPublish, longlinkAfterPublish,
          json(half), json(full)),
          console);
      closeClients(server);
      return failed == 0 && welcomes.get() == count ? 0 : 1;
    } finally {
      clients.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** Closes the client ends and waits for the gateway to see every connection go. */
  private void closeClients(LonglinkServer server) throws InterruptedException {
    for (Channel ch : channels) {
      if (ch != null) {
        ch.close();
      }
    }
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (server.stats().connections() > 0 && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }

  private static String json(Point p) {
    return String.format(Locale.ROOT, "{\"sessions\":%d,\"heap_bytes\":%d,\"longlink_bytes\":%d,\"login_seconds\":%.2f,"
            + "\"heartbeat_round_wall_ms\":%.1f,\"heartbeat_round_cpu_ms\":%.1f,\"liveness_sweep_ms\":%.3f,"
            + "\"idle_window_sweep_ms\":%.3f,\"trim_sweep_ms\":%.3f,"
            + "\"publish_round_wall_ms\":%.1f,\"publish_round_cpu_ms\":%.1f}", p.sessions, p.heapBytes, p.longlinkBytes,
        p.loginSeconds, p.heartbeatWallMs, p.heartbeatCpuMs, p.sweepMs, p.idleWindowSweepMs, p.trimSweepMs,
        p.publishWallMs, p.publishCpuMs);
  }

  /** Logs in sessions {@code from..to-1}, then measures a heartbeat round, a sweep and a publish round. */
  private Point grow(LonglinkServer server, Bootstrap b, int from, int to, long[] base, PrintWriter console)
      throws Exception {
    Semaphore permits = new Semaphore(inFlight);
    long t0 = System.nanoTime();
    for (int i = from; i < to; i++) {
      permits.acquire();
      int idx = i;
      // Own local names: Netty's random 32-bit ones collide about a hundred times in a million.
      b.connect(server.boundAddress(), new LocalAddress("bench-client-" + idx)).addListener((ChannelFutureListener) f -> {
        if (!f.isSuccess()) {
          failed(f.cause().toString());
          permits.release();
          return;
        }
        channels[idx] = f.channel();
        f.channel().writeAndFlush(encode(f.channel(), Frame.Hello.newSession("s" + idx, "")))
            .addListener(w -> permits.release()); // WELCOME counted by the handler
      });
      if (i % 50_000 == 0) {
        console.print(String.format(Locale.ROOT, "\rlogging in: %,d / %,d", welcomes.get(), to));
        console.flush();
      }
    }
    awaitCount(welcomes::get, to - failures.get(), "logins");
    double loginSeconds = (System.nanoTime() - t0) / 1e9;
    console.println(String.format(Locale.ROOT, "\rlogged in: %,d in %.1f s", welcomes.get(), loginSeconds));

    // Idle, as sessions are between heartbeats: the first window turn sees the logins' reads, the
    // second gives back what idle connections need not keep, the third finds nothing to give back.
    awaitWindowTurns(server, 2);
    long[] heap = heapAndLonglinkBytes();
    NodeStats.SweepTotals before = server.stats().livenessSweeps();
    awaitWindowTurns(server, 3);
    NodeStats.SweepTotals idle = server.stats().livenessSweeps().since(before);

    // Heartbeat round: every client pings once, the gateway answers each.
    long pongs0 = pongs.get();
    long cpu0 = processCpuNanos();
    long w0 = System.nanoTime();
    int live = 0;
    for (int i = 0; i < to; i++) {
      Channel ch = channels[i];
      if (ch != null && ch.isActive()) {
        ch.writeAndFlush(encode(ch, new Frame.Ping(i)), ch.voidPromise());
        live++;
      }
    }
    awaitCount(pongs::get, pongs0 + live, "pongs");
    double hbWall = (System.nanoTime() - w0) / 1e6;
    double hbCpu = (processCpuNanos() - cpu0) / 1e6;

    // Every session read a PING: of the two window turns after the round one sees the reads and one
    // trims every session at once (spread over a heartbeat interval when heartbeats are); their mean.
    before = server.stats().livenessSweeps();
    awaitWindowTurns(server, 2);
    double trimSweepMs = server.stats().livenessSweeps().since(before).meanWindowSweepMillis();

    // Publish round: one message to every session through the gateway's routing; clients ack each.
    long d0 = deliveries.get();
    byte[] payload = "x".repeat(100).getBytes(StandardCharsets.UTF_8);
    cpu0 = processCpuNanos();
    w0 = System.nanoTime();
    int sessions = 0;
    for (int i = 0; i < to; i++) {
      sessions += server.publishToClient("s" + i, payload);
    }
    awaitCount(deliveries::get, d0 + sessions, "deliveries");
    double pubWall = (System.nanoTime() - w0) / 1e6;
    double pubCpu = (processCpuNanos() - cpu0) / 1e6;
    return new Point(to, heap[0], heap[1], loginSeconds, hbWall, hbCpu, idle.meanSweepMillis(),
        idle.meanWindowSweepMillis(), trimSweepMs, pubWall, pubCpu);
  }

  /** Waits for {@code n} more turns of the gateway's one-second window on every event loop. */
  private static void awaitWindowTurns(LonglinkServer server, int n) throws InterruptedException {
    long target = server.stats().livenessSweeps().fewestWindowTurns() + n;
    awaitCount(() -> server.stats().livenessSweeps().fewestWindowTurns(), target, "sweeps turning the window");
  }

  private void failed(String reason) {
    failures.incrementAndGet();
    failureReasons.computeIfAbsent(reason.length() > 120 ? reason.substring(0, 120) : reason, k -> new AtomicLong())
        .incrementAndGet();
  }

  private static ByteBuf encode(Channel ch, Frame f) {
    return FrameCodec.encode(ch.alloc(), f);
  }

  private static void awaitCount(java.util.function.LongSupplier counter, long target, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (counter.getAsLong() < target) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(what + ": " + counter.getAsLong() + " of " + target + " after 5 minutes");
      }
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }

  /** CPU time of the gateway's event loops: every thread except the clients' and this one. */
  private static long processCpuNanos() {
    java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long clients = 0;
    for (java.lang.management.ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (t != null && (t.getThreadName().startsWith(CLIENT_THREADS) || t.getThreadId() == Thread.currentThread().threadId())) {
        clients += Math.max(0, threads.getThreadCpuTime(t.getThreadId()));
      }
    }
    long all = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    return all - clients;
  }

  /**
   * Live heap after full GCs, and how much of it is longlink's own server-side objects (classes in
   * {@code io.longlink.server}, plus the map entries and client-id strings they hold), from a class
   * histogram of this process.
   */
  static long[] heapAndLonglinkBytes() throws Exception {
    ObjectName dcmd = new ObjectName("com.sun.management:type=DiagnosticCommand");
    String histogram = (String) ManagementFactory.getPlatformMBeanServer().invoke(dcmd, "gcClassHistogram",
        new Object[] {new String[0]}, new String[] {String[].class.getName()});
    long total = 0;
    long longlink = 0;
    for (String line : histogram.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 4 || !f[0].endsWith(":")) {
        continue;
      }
      long bytes = Long.parseLong(f[2]);
      String cls = f[3];
      total += bytes;
      if (cls.startsWith("io.longlink.server.") || cls.startsWith("[Lio.longlink.server.")
          || cls.equals("java.util.concurrent.ConcurrentHashMap$Node")
          || cls.equals("[Ljava.util.concurrent.ConcurrentHashMap$Node;")) {
        longlink += bytes;
      }
    }
    return new long[] {total, longlink};
  }

  /** The clients' one shared handler: counts WELCOME and PONG, acknowledges every DATA at once. */
  @ChannelHandler.Sharable
  private final class LeanClient extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf buf = (ByteBuf) msg;
      try {
        // Usually one frame per message on local channels, but not always (writes can be merged):
        // read every length-prefixed frame in the buffer.
        while (buf.readableBytes() >= 4) {
          int length = buf.readInt();
          on(ctx, FrameCodec.decode(buf.readSlice(length)));
        }
      } finally {
        buf.release();
      }
    }

    private void on(ChannelHandlerContext ctx, Frame f) {
      if (f instanceof Frame.Welcome) {
        welcomes.incrementAndGet();
      } else if (f instanceof Frame.Pong) {
        pongs.incrementAndGet();
      } else if (f instanceof Frame.Data d) {
        ctx.writeAndFlush(encode(ctx.channel(), new Frame.Ack(d.seq())), ctx.voidPromise());
        deliveries.incrementAndGet();
      } else if (f instanceof Frame.Error || f instanceof Frame.GoAway) {
        failed(f.toString());
        ctx.close();
      } // the gateway's sampled PINGs go unanswered: these clients measure, they are not measured
    }
  }
}
