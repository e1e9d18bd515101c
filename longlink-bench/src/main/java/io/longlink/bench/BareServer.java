package io.longlink.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code longlink bench bare-server}: stock Netty 4.2 on epoll holding connections with one shared
 * handler that echoes what it reads (a client heartbeat) and no application state: the baseline
 * the gateway's per-connection cost and heartbeat CPU are compared with.
 */
@Command(name = "bare-server", mixinStandardHelpOptions = true,
    description = "A bare Netty epoll server (stock settings, one shared echo handler, no state) for "
        + "bench/compare-peers.sh. Runs until stopped.")
final class BareServer implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--port", defaultValue = "7700", description = "TCP port on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
  int port;

  @Override
  public Integer call() throws Exception {
    PrintWriter console = spec.commandLine().getOut();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(EpollIoHandler.newFactory());
    try {
      Channel ch = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
          .childHandler(new Echo()).bind("127.0.0.1", port).sync().channel();
      console.println("bare Netty server listening on 127.0.0.1:" + port);
      console.flush();
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown));
      stopped.await();
      ch.close();
      return 0;
    } finally {
      group.shutdownGracefully();
    }
  }

  @ChannelHandler.Sharable
  private static final class Echo extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ctx.writeAndFlush(msg, ctx.voidPromise());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
