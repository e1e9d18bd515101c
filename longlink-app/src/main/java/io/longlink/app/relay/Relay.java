package io.longlink.app.relay;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last fallback tier: a TCP relay for clients that can reach no gateway node directly (a host on
 * a path or port their network allows). Each accepted connection is joined byte for byte to the
 * first upstream, in the given order, that passes its health check; if that connect fails, the
 * next. Protocol-blind: it reads nothing of what it forwards, so TLS and WebSocket pass through
 * end to end and sessions resume through it like any connection. The health check is a TCP connect
 * to each upstream every {@code healthInterval}. Backpressure per pair: a side stops reading while
 * the other's socket is not writable.
 */
public final class Relay implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Relay.class);

  private final InetSocketAddress listen;
  private final List<InetSocketAddress> upstreams;
  private final Duration connectTimeout;
  private final Duration healthInterval;
  /** 1 while the upstream at that index passed its last check (all start healthy). */
  private final AtomicIntegerArray healthy;
  private final AtomicLong relayed = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private EventLoopGroup group;
  private Channel server;

  public Relay(InetSocketAddress listen, List<InetSocketAddress> upstreams, Duration connectTimeout,
      Duration healthInterval) {
    this.listen = Objects.requireNonNull(listen, "listen");
    this.upstreams = List.copyOf(upstreams);
    if (this.upstreams.isEmpty()) {
      throw new IllegalArgumentException("upstreams: none (expected: at least one HOST:PORT)");
    }
    this.connectTimeout = connectTimeout;
    this.healthInterval = healthInterval;
    this.healthy = new AtomicIntegerArray(this.upstreams.size());
    for (int i = 0; i < this.upstreams.size(); i++) {
      healthy.set(i, 1);
    }
  }

  public Relay start() {
    group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("longlink-relay"), NioIoHandler.newFactory());
    server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.AUTO_READ, false) // nothing is read until the upstream is there
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new Front());
          }
        })
        .bind(listen).syncUninterruptibly().channel();
    long every = healthInterval.toMillis();
    group.scheduleWithFixedDelay(this::checkHealth, every, every, TimeUnit.MILLISECONDS);
    log.info("longlink relay listening on {}, upstreams {}", address(), upstreams);
    return this;
  }

  public InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  /** Connections joined to an upstream so far, and those closed because no upstream answered. */
  public long relayed() {
    return relayed.get();
  }

  public long refused() {
    return refused.get();
  }

  private Bootstrap upstreamBootstrap(Channel front) {
    return new Bootstrap().group(front.eventLoop()).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.AUTO_READ, false);
  }

  private void checkHealth() {
    for (int i = 0; i < upstreams.size(); i++) {
      int index = i;
      InetSocketAddress u = upstreams.get(i);
      new Bootstrap().group(group).channel(NioSocketChannel.class)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
          .handler(new ChannelInboundHandlerAdapter())
          .connect(u).addListener((ChannelFutureListener) f -> {
            boolean up = f.isSuccess();
            if (up) {
              f.channel().close();
            }
            if (healthy.getAndSet(index, up ? 1 : 0) != (up ? 1 : 0)) {
              log.info("relay upstream {} is {}", u, up ? "back" : "down: " + f.cause());
            }
          });
    }
  }

  /** The upstreams to try for a new connection: the healthy ones first, in order, then the others. */
  private List<InetSocketAddress> candidates() {
    List<InetSocketAddress> first = new ArrayList<>();
    List<InetSocketAddress> rest = new ArrayList<>();
    for (int i = 0; i < upstreams.size(); i++) {
      (healthy.get(i) == 1 ? first : rest).add(upstreams.get(i));
    }
    first.addAll(rest);
    return first;
  }

  /**
   * One side of a pair: forwards what it reads to its peer, reads on while the peer's socket takes
   * it, and closes the peer when it closes. The client's side gets its peer once an upstream connects.
   */
  private static class Side extends ChannelInboundHandlerAdapter {
    Channel peer;

    Side(Channel peer) {
      this.peer = peer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      forward(ctx.channel(), peer, msg);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (peer != null && ctx.channel().isWritable()) {
        peer.read();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      closeOnFlush(peer);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** The client's side: on accept, joins an upstream (in the order of {@link #candidates}), then reads. */
  private final class Front extends Side {
    Front() {
      super(null);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      connect(ctx.channel(), candidates(), 0);
    }

    private void connect(Channel front, List<InetSocketAddress> order, int i) {
      if (i >= order.size()) {
        refused.incrementAndGet();
        log.debug("relay: no upstream for {}", front.remoteAddress());
        front.close();
        return;
      }
      ChannelFuture f = upstreamBootstrap(front).handler(new Side(front)).connect(order.get(i));
      f.addListener((ChannelFutureListener) cf -> {
        if (!cf.isSuccess()) {
          connect(front, order, i + 1);
        } else if (!front.isActive()) {
          cf.channel().close();
        } else {
          peer = cf.channel();
          relayed.incrementAndGet();
          front.read();
          peer.read();
        }
      });
    }
  }

  /** Writes what {@code from} read to {@code to}; reads on while {@code to} takes it. */
  private static void forward(Channel from, Channel to, Object msg) {
    to.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
      if (!f.isSuccess()) {
        from.close();
      } else if (to.isWritable()) {
        from.read();
      }
    });
  }

  private static void closeOnFlush(Channel ch) {
    if (ch != null && ch.isActive()) {
      ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void close() {
    if (server != null) {
      server.close().syncUninterruptibly();
    }
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }
}
