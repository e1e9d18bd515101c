package io.longlink.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * One load-generator process: opens up to ~19,000 idle connections (this machine allows 20,000
 * open files per process) from one source address, logs each in with the peer's protocol, keeps
 * them alive with one shared heartbeat sweep, and reports progress on stdout. Lean on purpose:
 * while logging in a connection has one small handler of its own (for its start time), after that
 * only the one shared handler. Run by {@code longlink bench connections}, not by hand.
 *
 * <p>Arguments: host port count ratePerSecond sourceIp idPrefix holdSeconds maxInFlight protocol
 * heartbeatMillis
 *
 * <p>Output lines: {@code progress connected=C failed=F reasons={...}}, once all are up
 * {@code self heap=BYTES rss=BYTES latency=BASE64} (its own memory after a GC, and the
 * connect-to-logged-in times as a compressed HdrHistogram in microseconds), and {@code final ...}.
 */
public final class LoadWorker {
  private final InetSocketAddress server;
  private final InetSocketAddress source;
  private final String idPrefix;
  private final PeerProtocol protocol;
  private final AtomicInteger connected = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
  private final List<Channel> channels = java.util.Collections.synchronizedList(new ArrayList<>());
  private final Established established = new Established();
  private final Recorder latencyMicros = new Recorder(3);

  private LoadWorker(InetSocketAddress server, InetSocketAddress source, String idPrefix, PeerProtocol protocol) {
    this.server = server;
    this.source = source;
    this.idPrefix = idPrefix;
    this.protocol = protocol;
  }

  /** TLS to the gateway; {@code null}: plaintext. */
  private io.netty.handler.ssl.SslContext tls;
  /** The WebSocket path to upgrade at; {@code null}: frames straight over TCP. */
  private String wsPath;
  /** Connection i is device d(i % n) of user u(i / n); 0: no device ids, connection i is client i. */
  private int devicesPerUser;

  public static void main(String[] args) throws Exception {
    InetSocketAddress server = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
    int count = Integer.parseInt(args[2]);
    int rate = Integer.parseInt(args[3]);
    InetSocketAddress source = new InetSocketAddress(args[4], 0);
    String prefix = args[5];
    long holdSeconds = Long.parseLong(args[6]);
    int maxInFlight = Integer.parseInt(args[7]);
    PeerProtocol protocol = PeerProtocol.valueOf(args[8]);
    long heartbeatMillis = Long.parseLong(args[9]);
    LoadWorker w = new LoadWorker(server, source, prefix, protocol);
    w.tls = args[10].equals("-") ? null : BenchTls.clientContext(args[10]);
    w.wsPath = args[11].equals("-") ? null : args[11];
    w.devicesPerUser = Integer.parseInt(args[12]);
    w.run(count, rate, holdSeconds, maxInFlight, heartbeatMillis);
  }

  private void run(int count, int rate, long holdSeconds, int maxInFlight, long heartbeatMillis) throws Exception {
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    Semaphore inFlight = new Semaphore(maxInFlight);
    Bootstrap b = new Bootstrap().group(group)
        .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
    if (epoll) {
      b.option(EpollChannelOption.IP_BIND_ADDRESS_NO_PORT, true);
    }
    long intervalNanos = 1_000_000_000L / Math.max(1, rate);
    long start = System.nanoTime();
    for (int i = 0; i < count; i++) {
      if (i == count / 2 && i > 0) {
        // Half way, settled: the other point of this process's own slope (classes and pools are loaded by now).
        inFlight.acquire(maxInFlight);
        inFlight.release(maxInFlight);
        reportSelf("half");
        start = System.nanoTime() - i * intervalNanos;
      }
      long wait = start + i * intervalNanos - System.nanoTime();
      if (wait > 0) {
        java.util.concurrent.locks.LockSupport.parkNanos(wait);
      }
      inFlight.acquire();
      Handshake handshake = devicesPerUser == 0 ? new Handshake(idPrefix + i, "", inFlight)
          : new Handshake(idPrefix + "u" + i / devicesPerUser, "d" + i % devicesPerUser, inFlight);
      io.netty.channel.ChannelHandler first = tls == null && wsPath == null ? handshake
          : new io.netty.channel.ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              if (tls != null) {
                ch.pipeline().addLast(tls.newHandler(ch.alloc(), server.getHostString(), server.getPort()));
              }
              if (wsPath != null) {
                WsBridge.addTo(ch.pipeline(), (tls == null ? "ws://" : "wss://") + server.getHostString() + ":"
                    + server.getPort() + wsPath);
              }
              ch.pipeline().addLast(handshake);
            }
          };
      b.clone().handler(first).connect(server, source).addListener((ChannelFutureListener) f -> {
        if (!f.isSuccess()) {
          handshake.failed(f.cause() == null ? "closed" : f.cause().getClass().getSimpleName());
        }
      });
      if (i % 1000 == 999) {
        report("progress");
      }
    }
    // Wait for the last handshakes, then hold with one heartbeat sweep per interval.
    inFlight.acquire(maxInFlight);
    report("progress");
    reportSelf("self");
    long holdUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(holdSeconds);
    long heartbeatNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(100, heartbeatMillis));
    while (System.nanoTime() < holdUntil) {
      long next = System.nanoTime() + heartbeatNanos;
      List<Channel> snapshot;
      synchronized (channels) {
        snapshot = new ArrayList<>(channels);
      }
      for (Channel ch : snapshot) {
        if (ch.isActive()) {
          ch.writeAndFlush(protocol.ping(ch.alloc()), ch.voidPromise());
        }
      }
      report("progress");
      long wait = Math.min(next, holdUntil) - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
    }
    report("final");
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private void fail(String reason) {
    failed.incrementAndGet();
    failures.computeIfAbsent(reason, k -> new AtomicInteger()).incrementAndGet();
  }

  private synchronized void report(String kind) {
    StringBuilder f = new StringBuilder("{");
    failures.forEach((k, v) -> f.append(f.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v.get()));
    f.append('}');
    System.out.println(kind + " connected=" + connected.get() + " failed=" + failed.get() + " reasons=" + f);
    System.out.flush();
  }

  /**
   * This process's own cost: connections, live heap after a GC and RSS; {@code "half"} half way
   * through the ramp, {@code "self"} at its end, with the login latencies.
   */
  private synchronized void reportSelf(String kind) throws java.io.IOException {
    System.gc();
    Runtime rt = Runtime.getRuntime();
    long heap = rt.totalMemory() - rt.freeMemory();
    long rss = Math.max(0, ProcStatus.rssBytes("self"));
    StringBuilder line = new StringBuilder(kind).append(" connections=").append(connected.get()).append(" heap=")
        .append(heap).append(" rss=").append(rss);
    if (kind.equals("self")) {
      Histogram h = latencyMicros.getIntervalHistogram();
      ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
      int n = h.encodeIntoCompressedByteBuffer(buf);
      line.append(" latency=").append(Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buf.array(), n)));
    }
    System.out.println(line);
    System.out.flush();
  }

  /** A connection's handler until it is logged in: its start time and in-flight permit. */
  private final class Handshake extends ChannelInboundHandlerAdapter {
    private final String id;
    private final String device;
    private final Semaphore permit;
    private final long startNanos = System.nanoTime();
    private boolean done;

    Handshake(String id, String device, Semaphore permit) {
      this.id = id;
      this.device = device;
      this.permit = permit;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      if (wsPath == null) {
        hello(ctx);
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt == io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler.ClientHandshakeStateEvent
          .HANDSHAKE_COMPLETE) {
        hello(ctx);
      } else if (evt == io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler.ClientHandshakeStateEvent
          .HANDSHAKE_TIMEOUT) {
        failed("WebSocket upgrade timed out");
      }
      ctx.fireUserEventTriggered(evt);
    }

    private void hello(ChannelHandlerContext ctx) {
      ByteBuf hello = protocol.hello(ctx.alloc(), id, device);
      if (hello == null) {
        loggedIn(ctx);
      } else {
        ctx.writeAndFlush(hello);
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      try {
        switch (protocol.read(in, ctx.alloc())) {
          case LOGGED_IN -> loggedIn(ctx);
          case REFUSED -> {
            failed("refused");
            ctx.close();
          }
          case ANSWER_PING -> ctx.writeAndFlush(protocol.pong(ctx.alloc()), ctx.voidPromise());
          default -> { }
        }
      } finally {
        in.release();
      }
    }

    private void loggedIn(ChannelHandlerContext ctx) {
      if (done) {
        return;
      }
      done = true;
      latencyMicros.recordValue(Math.max(1, (System.nanoTime() - startNanos) / 1000));
      connected.incrementAndGet();
      channels.add(ctx.channel());
      permit.release();
      ctx.pipeline().replace(this, null, established);
    }

    void failed(String reason) {
      if (!done) {
        done = true;
        fail(reason);
        permit.release();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      failed("closed during login");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failed(cause.getClass().getSimpleName());
      ctx.close();
    }
  }

  /** The one handler every logged-in connection shares: answers server pings, counts drops. */
  @ChannelHandler.Sharable
  private final class Established extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      try {
        PeerProtocol.Reply r = protocol.read(in, ctx.alloc());
        if (r == PeerProtocol.Reply.ANSWER_PING) {
          ctx.writeAndFlush(protocol.pong(ctx.alloc()), ctx.voidPromise());
        } else if (r == PeerProtocol.Reply.REFUSED) {
          ctx.close();
        }
      } finally {
        in.release();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      connected.decrementAndGet();
      channels.remove(ctx.channel());
      fail("dropped after login");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
