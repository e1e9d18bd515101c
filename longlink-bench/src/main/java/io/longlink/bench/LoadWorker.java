package io.longlink.bench;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.FrameDecoder;
import io.longlink.protocol.FrameEncoder;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One load-generator process: opens up to ~19,000 idle sessions (this machine allows 20,000 open
 * files per process) from one source address, logs each in with a raw HELLO, keeps them alive with
 * one shared ping sweep, and reports progress on stdout. Lean on purpose: one handler per channel,
 * no SDK state. Run by {@code longlink bench connections}, not by hand.
 *
 * <p>Arguments: host port count ratePerSecond sourceIp idPrefix holdSeconds maxInFlight
 */
public final class LoadWorker {
  private final InetSocketAddress server;
  private final InetSocketAddress source;
  private final String idPrefix;
  private final AtomicInteger connected = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
  private final List<Channel> channels = java.util.Collections.synchronizedList(new ArrayList<>());
  private final ConnectionHandler handler = new ConnectionHandler();
  private volatile long heartbeatNanos = TimeUnit.SECONDS.toNanos(30);

  private LoadWorker(InetSocketAddress server, InetSocketAddress source, String idPrefix) {
    this.server = server;
    this.source = source;
    this.idPrefix = idPrefix;
  }

  public static void main(String[] args) throws Exception {
    InetSocketAddress server = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
    int count = Integer.parseInt(args[2]);
    int rate = Integer.parseInt(args[3]);
    InetSocketAddress source = new InetSocketAddress(args[4], 0);
    String prefix = args[5];
    long holdSeconds = Long.parseLong(args[6]);
    int maxInFlight = Integer.parseInt(args[7]);
    new LoadWorker(server, source, prefix).run(count, rate, holdSeconds, maxInFlight);
  }

  private void run(int count, int rate, long holdSeconds, int maxInFlight) throws Exception {
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    Bootstrap b = new Bootstrap().group(group)
        .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(FrameEncoder.INSTANCE, new FrameDecoder(FrameCodec.DEFAULT_MAX_FRAME_SIZE), handler);
          }
        });
    if (epoll) {
      b.option(EpollChannelOption.IP_BIND_ADDRESS_NO_PORT, true);
    }
    Semaphore inFlight = new Semaphore(maxInFlight);
    long intervalNanos = 1_000_000_000L / Math.max(1, rate);
    long start = System.nanoTime();
    for (int i = 0; i < count; i++) {
      long wait = start + i * intervalNanos - System.nanoTime();
      if (wait > 0) {
        java.util.concurrent.locks.LockSupport.parkNanos(wait);
      }
      inFlight.acquire();
      String id = idPrefix + i;
      b.connect(server, source).addListener((ChannelFutureListener) f -> {
        if (!f.isSuccess()) {
          fail(f.cause());
          inFlight.release();
          return;
        }
        f.channel().attr(ConnectionHandler.PERMIT).set(inFlight);
        f.channel().writeAndFlush(new Frame.Hello(1, id, "", "", 0, 0));
        channels.add(f.channel());
      });
      if (i % 1000 == 999) {
        report(false);
      }
    }
    // Wait for the last handshakes, then hold with one ping sweep per heartbeat interval.
    inFlight.acquire(maxInFlight);
    report(false);
    long holdUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(holdSeconds);
    while (System.nanoTime() < holdUntil) {
      long next = System.nanoTime() + Math.max(heartbeatNanos / 2, TimeUnit.MILLISECONDS.toNanos(100));
      List<Channel> snapshot;
      synchronized (channels) {
        snapshot = new ArrayList<>(channels);
      }
      Frame.Ping ping = new Frame.Ping(1);
      for (Channel ch : snapshot) {
        if (ch.isActive()) {
          ch.writeAndFlush(ping, ch.voidPromise());
        }
      }
      report(false);
      long wait = Math.min(next, holdUntil) - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
    }
    report(true);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private void fail(Throwable cause) {
    failed.incrementAndGet();
    String reason = cause == null ? "closed" : cause.getClass().getSimpleName();
    failures.computeIfAbsent(reason, k -> new AtomicInteger()).incrementAndGet();
  }

  private synchronized void report(boolean last) {
    StringBuilder f = new StringBuilder("{");
    failures.forEach((k, v) -> f.append(f.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v.get()));
    f.append('}');
    System.out.println((last ? "final " : "progress ") + "connected=" + connected.get() + " failed=" + failed.get()
        + " reasons=" + f);
    System.out.flush();
  }

  /** The one handler every connection shares: counts logins and failures. */
  @ChannelHandler.Sharable
  private final class ConnectionHandler extends ChannelInboundHandlerAdapter {
    static final io.netty.util.AttributeKey<Semaphore> PERMIT = io.netty.util.AttributeKey.valueOf("permit");

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Frame.Welcome) {
        Frame.Welcome w = (Frame.Welcome) msg;
        heartbeatNanos = TimeUnit.MILLISECONDS.toNanos(w.heartbeatIntervalMs());
        connected.incrementAndGet();
        release(ctx);
      } else if (msg instanceof Frame.Error) {
        fail(new IllegalStateException(((Frame.Error) msg).code().name()));
        release(ctx);
        ctx.close();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (release(ctx)) {
        fail(null);
      } else {
        connected.decrementAndGet();
        fail(null);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }

    /** Returns the in-flight permit once; true if this call released it. */
    private boolean release(ChannelHandlerContext ctx) {
      Semaphore s = ctx.channel().attr(PERMIT).getAndSet(null);
      if (s != null) {
        s.release();
        return true;
      }
      return false;
    }
  }
}
