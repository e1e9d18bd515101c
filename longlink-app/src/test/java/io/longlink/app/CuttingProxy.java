package io.longlink.app;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP forwarder on loopback that tests can cut: reset every connection through it at once,
 * optionally in the middle of a chunk of bytes, or refuse connections for a while. Protocol-blind.
 */
final class CuttingProxy implements AutoCloseable {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Set<Channel> channels = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean cutMidChunk = new AtomicBoolean();
  private final AtomicInteger midChunkCuts = new AtomicInteger();
  private final AtomicInteger cuts = new AtomicInteger();
  private volatile boolean refusing;
  private final Channel listener;

  CuttingProxy(InetSocketAddress upstream) {
    listener = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel inbound) {
            if (refusing) {
              inbound.config().setOption(ChannelOption.SO_LINGER, 0);
              inbound.close();
              return;
            }
            channels.add(inbound);
            inbound.closeFuture().addListener(f -> channels.remove(inbound));
            new Bootstrap()
                .group(inbound.eventLoop())
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new Relay(inbound))
                .connect(upstream)
                .addListener((ChannelFutureListener) f -> {
                  if (!f.isSuccess()) {
                    inbound.close();
                    return;
                  }
                  Channel outbound = f.channel();
                  channels.add(outbound);
                  outbound.closeFuture().addListener(x -> channels.remove(outbound));
                  inbound.pipeline().addLast(new Relay(outbound));
                  inbound.config().setAutoRead(true);
                });
          }
        })
        .bind("127.0.0.1", 0)
        .syncUninterruptibly()
        .channel();
  }

  InetSocketAddress address() {
    return (InetSocketAddress) listener.localAddress();
  }

  /** Resets every connection now. */
  void cutAll() {
    cuts.incrementAndGet();
    for (Channel c : channels) {
      reset(c);
    }
  }

  /** The next chunk read in either direction is half forwarded, then everything is reset. */
  void cutInTheMiddleOfTheNextChunk() {
    cutMidChunk.set(true);
  }

  /** While refusing, new connections are reset at once (the gateway looks down). */
  void refuse(boolean refusing) {
    this.refusing = refusing;
  }

  int cuts() {
    return cuts.get();
  }

  int midChunkCuts() {
    return midChunkCuts.get();
  }

  int openConnections() {
    return channels.size();
  }

  private static void reset(Channel c) {
    if (c.isOpen()) {
      c.config().setOption(ChannelOption.SO_LINGER, 0);
      c.close();
    }
  }

  @Override
  public void close() {
    listener.close().syncUninterruptibly();
    channels.forEach(Channel::close);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Forwards what one side reads to the other. */
  private final class Relay extends ChannelInboundHandlerAdapter {
    private final Channel peer;

    Relay(Channel peer) {
      this.peer = peer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf buf = (ByteBuf) msg;
      if (buf.readableBytes() > 1 && cutMidChunk.compareAndSet(true, false)) {
        ByteBuf half = buf.readRetainedSlice(buf.readableBytes() / 2);
        buf.release();
        midChunkCuts.incrementAndGet();
        peer.writeAndFlush(half).addListener(f -> cutAll());
        return;
      }
      peer.writeAndFlush(buf);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      reset(peer);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      reset(ctx.channel());
      reset(peer);
    }
  }
}
