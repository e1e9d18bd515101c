package io.longlink.bench;

import io.longlink.protocol.HostPort;
import io.longlink.protocol.TargetKind;
import io.longlink.server.LonglinkServer;
import io.longlink.server.SchedulerSlice;
import io.longlink.cli.GatewayOptions;
import io.longlink.server.ServerConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Open-loop message flow through the gateway with its delivery guarantees on (numbered frames,
 * acks, replay buffers), from raw-protocol clients: one sender at a fixed rate to one receiver
 * ({@code bench throughput}) or to a topic with many subscribers ({@code bench fanout}).
 *
 * <p>Latency is measured from each message's <em>intended</em> send time (start + i / rate), not
 * from when the sender got round to it, so a stalled sender or gateway shows up in the latency
 * instead of silently lowering the rate (coordinated omission). Every receiver checks that it gets
 * each message exactly once and in order.
 */
abstract class FlowBench implements Callable<Integer> {
  private static final int HEADER = 16; // intended send time (nanoTime) + message index
  private static final int CHUNK = 32 * 1024;
  private static final long MIN_TICK_NANOS = 20_000;
  /** Every latency histogram's range and precision (significant digits). */
  private static final long MAX_LATENCY_NANOS = TimeUnit.SECONDS.toNanos(60);
  private static final int DIGITS = 3;

  @Spec CommandSpec spec;

  @Option(names = "--server", description = "Gateway HOST:PORT (default: one started in this process on loopback, "
      + "set up by the gateway options below, which `longlink server` takes too).")
  String server;

  @Mixin GatewayOptions gateway;

  @Option(names = "--receivers-on", split = ",", paramLabel = "HOST:PORT", description = "Connect the receivers to "
      + "these nodes instead, in turn (another node of a cluster: cross-node delivery; several: receivers spread).")
  List<String> receiversOn;

  @Option(names = "--rate", defaultValue = "100000", description = "Messages per second the sender offers (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--duration", defaultValue = "10s", description = "How long the sender sends (default: ${DEFAULT-VALUE}).")
  Duration duration;

  @Option(names = "--warmup", defaultValue = "2s", description = "Sent but not measured: JIT and pools warm up (default: ${DEFAULT-VALUE}).")
  Duration warmup;

  @Option(names = "--payload", defaultValue = "100", description = "Payload bytes, at least 16 (default: ${DEFAULT-VALUE}).")
  int payload;

  @Option(names = "--wire", defaultValue = "LONGLINK",
      description = "LONGLINK, NATS (core: at most once) or MQTT (3.1.1, QoS 1): measure a peer with the same "
          + "load generator; NATS and MQTT need --server (default: ${DEFAULT-VALUE}).")
  FlowWire wire;

  @Option(names = "--client-threads", defaultValue = "1",
      description = "Event loop threads of the load generator's clients (default: ${DEFAULT-VALUE}).")
  int clientThreads;

  @Option(names = "--client-slice", defaultValue = "100us",
      description = "CPU time slice the client threads ask the Linux scheduler for (Linux 6.12+), as the gateway's "
          + "--io-thread-slice: a thread woken by a message runs at once; 0s: the kernel's default (default: "
          + "${DEFAULT-VALUE}).")
  Duration clientSlice;

  @Option(names = "--ack-batch", defaultValue = "64",
      description = "longlink receivers acknowledge at the latest after this many messages, as the SDK's "
          + "ackBatch(messages, delay) (default: ${DEFAULT-VALUE}).")
  int ackBatch;

  @Option(names = "--ack-delay", defaultValue = "0ms",
      description = "longlink receivers acknowledge this long after the first unacknowledged message; 0: at the end "
          + "of each read, the SDK's default (default: ${DEFAULT-VALUE}).")
  Duration ackDelay;

  @Option(names = "--server-pid", description = "PID of the server on this machine: report its CPU while measured "
      + "(the load generator's own is always reported).")
  Long serverPid;

  @Option(names = "--out", description = "Write the result as JSON to this file.")
  Path out;

  @Option(names = "--plot", description = "Write delivery rate and latency over time as a self-contained HTML page.")
  Path plot;

  /**
   * Per client thread: a latency recorder for the warm-up and one for the measured messages
   * (receivers on different threads do not contend). Every message is recorded, the same way, from
   * the first: a code path first taken when measuring starts would be compiled then and show up as
   * a stall in the measured latency.
   */
  private final List<Latency> recorders = new CopyOnWriteArrayList<>();
  private final ThreadLocal<Latency> latency = ThreadLocal.withInitial(() -> {
    Latency l = new Latency();
    recorders.add(l);
    return l;
  });
  private final Histogram total = newHistogram();
  /** Reused by each tick: the measuring thread allocates nothing per tick. */
  private final Histogram interval = newHistogram();
  /**
   * The warm-up's interval, taken and dropped each tick as the measured one is taken and kept: the
   * histograms' code then runs the same branches before measuring as while (a branch never taken
   * in warm-up is compiled as a trap, and the receive path it is inlined into falls back to the
   * interpreter when measuring begins).
   */
  private final Histogram warmupInterval = newHistogram();
  private final LongAdder duplicated = new LongAdder();
  private final LongAdder reordered = new LongAdder();
  private final List<double[]> timeline = new ArrayList<>();
  /** Messages intended before this are not measured (warm-up). */
  private volatile long measureFrom = Long.MAX_VALUE;

  /** The bench's name in output. */
  abstract String name();

  /** How many receivers; each gets every message. */
  abstract int receivers();

  /**
   * What the sender addresses: CLIENT, one receiver by its client id; TOPIC, a topic every receiver
   * subscribes to; USER, one principal every receiver is a device of.
   */
  abstract TargetKind target();

  @Override
  public Integer call() throws Exception {
    PrintWriter console = spec.commandLine().getOut();
    if (payload < HEADER) {
      throw new IllegalArgumentException("--payload: " + payload + " (expected: >= " + HEADER + ")");
    }
    if (rate < 1) {
      throw new IllegalArgumentException("--rate: " + rate + " (expected: >= 1)");
    }
    if (clientThreads < 1) {
      throw new IllegalArgumentException("--client-threads: " + clientThreads + " (expected: >= 1)");
    }
    if (ackBatch < 1 || ackDelay.isNegative()) {
      throw new IllegalArgumentException("--ack-batch " + ackBatch + " --ack-delay " + ackDelay
          + " (expected: >= 1 and a delay >= 0)");
    }
    if (!SchedulerSlice.allowed(clientSlice)) {
      throw new IllegalArgumentException("--client-slice: " + clientSlice + " (expected: 0s or 100us..100ms)");
    }
    LonglinkServer local = null;
    InetSocketAddress target;
    if (server == null && wire != FlowWire.LONGLINK) {
      throw new IllegalArgumentException("--wire " + wire + " needs --server HOST:PORT (a running peer)");
    }
    if (receivers() < 1) {
      throw new IllegalArgumentException("bench " + name() + ": " + receivers() + " receivers (expected: >= 1)");
    }
    if (!wire.addresses(target())) {
      throw new IllegalArgumentException("bench " + name() + " --wire " + wire + ": " + wire
          + " has no " + target().name().toLowerCase(Locale.ROOT) + " destination (expected: --wire LONGLINK)");
    }
    if (server == null) {
      local = BenchCommand.gateway(gateway.applyTo(ServerConfig.builder()));
      target = local.localAddress();
    } else {
      target = HostPort.parse(server, "--server");
    }
    FlowWire.Acks acks = new FlowWire.Acks(ackBatch, ackDelay.toNanos());
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(clientThreads,
        SchedulerSlice.threads(new DefaultThreadFactory("bench-flow"), clientSlice), EpollIoHandler.newFactory());
    List<Channel> channels = new ArrayList<>();
    try {
      String run = Long.toHexString(System.nanoTime());
      List<Receiver> rs = new ArrayList<>();
      List<InetSocketAddress> receiverTargets = new ArrayList<>();
      for (String hostPort : receiversOn == null ? List.<String>of() : receiversOn) {
        receiverTargets.add(HostPort.parse(hostPort, "--receivers-on"));
      }
      if (receiverTargets.isEmpty()) {
        receiverTargets.add(target);
      }
      String destination = switch (target()) {
        case CLIENT -> "flow-rx-" + run + "-0"; // the first (only) receiver's client id
        case TOPIC -> "flow-" + run;
        case USER -> "flow-user-" + run; // the principal whose devices the receivers are
      };
      for (int i = 0; i < receivers(); i++) {
        Receiver r = new Receiver();
        InetSocketAddress at = receiverTargets.get(i % receiverTargets.size());
        if (target() == TargetKind.USER) {
          connect(group, at, destination, "d" + i, null, r, acks, channels);
        } else {
          String id = "flow-rx-" + run + "-" + i;
          connect(group, at, id, "", wire.subscription(id, target() == TargetKind.TOPIC ? destination : null), r, acks,
              channels);
        }
        rs.add(r);
      }
      for (Receiver r : rs) {
        r.ready.get(10, TimeUnit.SECONDS); // logged in (and subscribed: the ACK of the SUBSCRIBE)
      }
      Sender sender = new Sender(destination);
      Channel tx = connect(group, target, "flow-tx-" + run, "", null, sender, acks, channels);
      sender.ready.get(10, TimeUnit.SECONDS);
      // The set-up's garbage (a thousand logins) collected now, not by a pause in the measured flow.
      System.gc();
      long start = System.nanoTime();
      measureFrom = start + warmup.toNanos();
      long messages = rate * (warmup.toNanos() + duration.toNanos()) / 1_000_000_000L;
      tx.eventLoop().execute(() -> sender.begin(tx, start, messages));
      long expected = messages * receivers();
      long deadline = start + warmup.toNanos() + duration.toNanos() + TimeUnit.SECONDS.toNanos(30);
      long nextTick = start + TimeUnit.MILLISECONDS.toNanos(500);
      long lastDelivered = 0;
      CpuWindow cpu = new CpuWindow(serverPid, local != null);
      long sendEnd = measureFrom + duration.toNanos();
      while (delivered() < expected && System.nanoTime() < deadline && !sender.failed && !anyFailed(rs)) {
        TimeUnit.NANOSECONDS.sleep(Math.max(0, nextTick - System.nanoTime()));
        cpu.at(nextTick, System.nanoTime(), measureFrom, sendEnd);
        long d = delivered();
        Histogram last = intervalHistogram();
        total.add(last);
        synchronized (timeline) {
          timeline.add(new double[] {(nextTick - start) / 1e9, (d - lastDelivered) * 2.0,
              last.getTotalCount() == 0 ? 0 : last.getValueAtPercentile(99) / 1e6});
        }
        lastDelivered = d;
        nextTick += TimeUnit.MILLISECONDS.toNanos(500);
      }
      total.add(intervalHistogram());
      double seconds = Math.max((System.nanoTime() - start) / 1e9, (warmup.toNanos() + duration.toNanos()) / 1e9);
      long got = delivered();
      String failures = sender.failed ? "; SENDER FAILED: " + sender.failure : "";
      for (Receiver r : rs) {
        if (r.failed) {
          failures += "; A RECEIVER FAILED: " + r.failure;
          break;
        }
      }
      long lost = expected - got;
      String line = String.format(Locale.ROOT, "%s%s: offered %,d msg/s for %s to %d receiver(s); delivered %,d of %,d "
              + "(%,.0f deliveries/s), lost %d, duplicated %d, reordered %d; latency from intended send p50 %.3f ms, "
              + "p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms; %s%s", name(),
          wire == FlowWire.LONGLINK ? "" : " (" + wire.name().toLowerCase(Locale.ROOT) + ")", rate, duration, receivers(), got,
          expected, got / seconds, lost, duplicated.sum(), reordered.sum(),
          pct(50), pct(90), pct(99), pct(99.9), total.getMaxValue() / 1e6,
          cpu.describe(), failures);
      console.println(line);
      BenchCommand.write(out, String.format(Locale.ROOT, "{\"bench\":\"%s\",\"wire\":\"%s\",\"rate\":%d,\"duration_s\":%.1f,"
              + "\"payload\":%d,\"receivers\":%d,\"expected\":%d,\"delivered\":%d,\"lost\":%d,\"duplicated\":%d,"
              + "\"reordered\":%d,\"deliveries_per_second\":%.0f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
              + "\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f},\"generator_cpu_cores\":%.3f,\"server_cpu_cores\":%.3f}",
          name(), wire.name().toLowerCase(Locale.ROOT), rate,
          duration.toNanos() / 1e9, payload,
          receivers(), expected, got, lost, duplicated.sum(), reordered.sum(),
          got / seconds, pct(50), pct(90), pct(99), pct(99.9),
          total.getMaxValue() / 1e6, cpu.generatorCores(), cpu.serverCores()), console);
      if (plot != null) {
        writePlot();
        console.println("wrote " + plot);
      }
      return lost == 0 && duplicated.sum() == 0 && reordered.sum() == 0 && failures.isEmpty() ? 0 : 1;
    } finally {
      for (Channel ch : channels) {
        ch.close();
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      if (local != null) {
        local.close();
      }
    }
  }

  /** Messages delivered so far, on all client threads. */
  private long delivered() {
    long n = 0;
    for (Latency l : recorders) {
      n += l.delivered.get();
    }
    return n;
  }

  /** What the client threads measured since the last call (valid until the next call). */
  private Histogram intervalHistogram() {
    interval.reset();
    warmupInterval.reset();
    for (Latency l : recorders) {
      for (int phase = 0; phase < 2; phase++) {
        l.recycled[phase] = l.byPhase[phase].getIntervalHistogram(l.recycled[phase]);
        (phase == 0 ? warmupInterval : interval).add(l.recycled[phase]);
      }
    }
    return interval;
  }

  /**
   * CPU of the load generator and, given its PID, of the server, from the first report tick in the
   * measured window to the last: whether the generator kept up is part of the result.
   */
  private static final class CpuWindow {
    private final String serverPid;
    private final boolean gatewayInProcess;
    private long fromNanos = -1;
    private long toNanos;
    private long generator0;
    private long generator1;
    private long server0;
    private long server1;

    CpuWindow(Long serverPid, boolean gatewayInProcess) {
      this.serverPid = serverPid == null ? null : String.valueOf(serverPid);
      this.gatewayInProcess = gatewayInProcess;
    }

    /**
     * The report tick meant for {@code tick}, taken at {@code now}; keeps the sample if the tick is in
     * [measureFrom, sendEnd]. Samples at every tick: a first read of /proc when measuring begins
     * would be new code for the compiler then, in the middle of the flow.
     */
    void at(long tick, long now, long measureFrom, long sendEnd) throws java.io.IOException {
      long generator = ProcStatus.cpuTicks("self");
      long server = serverPid == null ? 0 : ProcStatus.cpuTicks(serverPid);
      if (tick < measureFrom || tick > sendEnd) {
        return;
      }
      if (fromNanos < 0) {
        fromNanos = now;
        generator0 = generator;
        server0 = server;
      }
      toNanos = now;
      generator1 = generator;
      server1 = server;
    }

    double generatorCores() {
      return cores(generator0, generator1);
    }

    /** -1 without a server PID. */
    double serverCores() {
      return serverPid == null ? -1 : cores(server0, server1);
    }

    private double cores(long from, long to) {
      double seconds = (toNanos - fromNanos) / 1e9;
      return fromNanos < 0 || seconds <= 0 ? -1 : (to - from) / (double) ProcStatus.TICKS_PER_SECOND / seconds;
    }

    String describe() {
      if (generatorCores() < 0) {
        return "CPU not measured (window too short)";
      }
      return String.format(Locale.ROOT, "CPU while measured: load generator%s %.2f cores%s",
          gatewayInProcess ? " (with the gateway, in this process)" : "", generatorCores(),
          serverPid == null ? "" : String.format(Locale.ROOT, ", server %.2f cores", serverCores()));
    }
  }

  /**
   * One client thread's latencies, [0] the warm-up's (not reported), [1] the measured ones, and its
   * count of delivered messages; written by that thread alone, so without atomic read-modify-writes.
   */
  private static final class Latency {
    final SingleWriterRecorder[] byPhase = {new SingleWriterRecorder(MAX_LATENCY_NANOS, DIGITS),
        new SingleWriterRecorder(MAX_LATENCY_NANOS, DIGITS)};
    final AtomicLong delivered = new AtomicLong();
    /** The last interval histograms taken from byPhase, handed back to them for the next. */
    final Histogram[] recycled = new Histogram[2];
  }

  private static Histogram newHistogram() {
    return new Histogram(MAX_LATENCY_NANOS, DIGITS);
  }

  private static boolean anyFailed(List<Receiver> rs) {
    for (Receiver r : rs) {
      if (r.failed) {
        return true;
      }
    }
    return false;
  }

  private double pct(double p) {
    return total.getTotalCount() == 0 ? 0 : total.getValueAtPercentile(p) / 1e6;
  }

  private void writePlot() throws java.io.IOException {
    double[][] s;
    synchronized (timeline) {
      s = timeline.toArray(new double[0][]);
    }
    double[] t = new double[s.length];
    double[] rateSeries = new double[s.length];
    double[] p99 = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      t[i] = s[i][0];
      rateSeries[i] = s[i][1];
      p99[i] = s[i][2];
    }
    Files.writeString(plot, new HtmlPlot("longlink bench " + name() + ": " + rate + " msg/s to " + receivers()
        + " receiver(s)")
        .add(new HtmlPlot.Chart("Deliveries per second", "seconds", "deliveries/s",
            List.of(new HtmlPlot.Series("delivered", t, rateSeries))))
        .add(new HtmlPlot.Chart("Latency p99 per 0.5 s", "seconds", "ms", List.of(new HtmlPlot.Series("p99", t, p99))))
        .render());
  }

  /**
   * Connects and logs in as {@code id} (device {@code device} unless empty), subscribed to {@code
   * subscribe} (a receiver) or nothing.
   */
  private Channel connect(EventLoopGroup group, InetSocketAddress target, String id, String device, String subscribe,
      Peer peer,
      FlowWire.Acks acks, List<Channel> channels) throws InterruptedException {
    Channel ch = new Bootstrap().group(group).channel(EpollSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel c) {
            c.pipeline().addLast(wire.decoder(subscribe != null, peer, acks), peer);
          }
        }).connect(target).sync().channel();
    channels.add(ch);
    ch.writeAndFlush(wire.login(ch.alloc(), id, device, subscribe));
    return ch;
  }

  /** A raw client: completes {@code ready} once logged in; a refusal fails the run (and closes). */
  private abstract static class Peer extends ChannelInboundHandlerAdapter implements FlowWire.Sink {
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    volatile boolean failed;
    volatile String failure = "";
    private Channel channel;

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      channel = ctx.channel();
      super.channelActive(ctx);
    }

    @Override
    public void ready() {
      ready.complete(null);
    }

    @Override
    public void failed(String why) {
      fail(why);
      channel.close();
    }

    @Override
    public void delivered(long intended, long index) {}

    void fail(String why) {
      failure = why;
      failed = true;
      ready.completeExceptionally(new IllegalStateException(why));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (!failed) {
        fail(ready.isDone() ? "connection closed" : "connection closed during login");
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(cause.toString());
      ctx.close();
    }
  }

  /**
   * Writes due messages every tick while the socket is writable, encoded into buffers of about
   * {@value #CHUNK} bytes (one write each, one flush per tick).
   */
  private final class Sender extends Peer {
    private final String destination;
    private final TargetKind kind = target();
    private final byte[] body = new byte[payload];
    private final ByteBuffer header = ByteBuffer.wrap(body);
    private Channel ch;
    private long start;
    private long messages;
    private long next;
    private final Runnable sendDue = this::sendDue;

    /** Room one message takes in a send buffer, at most (its frame's fields and lengths within 64 bytes). */
    private final int perMessage;

    Sender(String destination) {
      this.destination = destination;
      this.perMessage = payload + destination.length() + 64;
    }

    void begin(Channel ch, long start, long messages) {
      this.ch = ch;
      this.start = start;
      this.messages = messages;
      sendDue();
    }

    private void sendDue() {
      // Message i is intended at start + i / rate: due once that time has come (i from 0).
      long due = Math.min(messages, (System.nanoTime() - start) * rate / 1_000_000_000L + 1);
      boolean wrote = false;
      while (next < due && ch.isWritable()) {
        // Sized for what is due (one message at a low rate), at most about CHUNK: a 32 KiB buffer per
        // message would cost more than the message.
        ByteBuf out = ch.alloc().buffer((int) Math.min(CHUNK + perMessage, (due - next) * perMessage));
        while (next < due && out.readableBytes() < CHUNK) {
          header.putLong(0, start + next * 1_000_000_000L / rate).putLong(8, next); // the codec copies it
          next++;
          wire.message(out, next, destination, kind, body);
        }
        ch.write(out, ch.voidPromise());
        wrote = true;
      }
      if (wrote) {
        ch.flush();
      }
      if (next < messages) {
        // The pacer wakes when the next message is due (a wait for a tick would count as latency),
        // at most every MIN_TICK_NANOS: past that rate it sends what came due meanwhile.
        long wake = start + next * 1_000_000_000L / rate;
        ch.eventLoop().schedule(sendDue, Math.max(MIN_TICK_NANOS, wake - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
    }
  }

  /** Records latency and checks exactly-once in-order delivery (the wire acknowledges). */
  private final class Receiver extends Peer {
    private long expectedIndex;

    private Latency latencies;

    @Override
    public void delivered(long intended, long index) {
      Latency l = latencies;
      if (l == null) {
        l = latencies = latency.get(); // this receiver's event loop thread's
      }
      // [0] in the warm-up, [1] once measuring: (measureFrom - intended - 1) is negative from then on.
      l.byPhase[(int) ((measureFrom - intended - 1) >>> 63)].recordValue(Math.max(0, System.nanoTime() - intended));
      if (index < expectedIndex) {
        duplicated.increment();
      } else {
        if (index > expectedIndex) {
          reordered.increment();
        }
        expectedIndex = index + 1;
        l.delivered.lazySet(l.delivered.get() + 1); // this thread's alone
      }
    }
  }
}
