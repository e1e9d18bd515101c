package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** An idle epoll connection gives its receive handles back and still reads afterwards (real sockets, an echo server). */
class IdleReceiveHandlesTest {
  private final BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
  private EventLoopGroup group;
  private Socket client;

  @AfterEach
  void stop() throws IOException {
    if (client != null) {
      client.close();
    }
    if (group != null) {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Test
  void anIdleEpollConnectionDropsItsHandlesAndReadsAgainWithNewOnes() throws Exception {
    assumeThat(Epoll.isAvailable()).as("native epoll").isTrue();
    Channel ch = connect(EpollIoHandler.newFactory(), EpollServerSocketChannel.class);
    assertThat(echo("before")).isEqualTo("before");

    assertThat(releaseOnLoop(ch)).as("held handles after reading").isTrue();
    assertThat(releaseOnLoop(ch)).as("none left to drop").isFalse();

    // Larger than the first guess after a restart (2 KiB): the new handle sizes and grows as before.
    String big = "x".repeat(20_000);
    assertThat(echo(big)).isEqualTo(big);
    assertThat(releaseOnLoop(ch)).as("made again by the read").isTrue();
    assertThat(echo("after")).isEqualTo("after");
  }

  @Test
  void otherTransportsKeepTheirs() throws Exception {
    Channel ch = connect(NioIoHandler.newFactory(), NioServerSocketChannel.class);
    assertThat(echo("nio")).isEqualTo("nio");
    assertThat(releaseOnLoop(ch)).isFalse();
    assertThat(echo("still")).isEqualTo("still");
  }

  private boolean releaseOnLoop(Channel ch) throws Exception {
    return ch.eventLoop().submit(() -> IdleReceiveHandles.release(ch)).get(10, TimeUnit.SECONDS);
  }

  /** Sends {@code text} with a newline and reads back as many bytes. */
  private String echo(String text) throws IOException {
    byte[] out = (text + "\n").getBytes(StandardCharsets.US_ASCII);
    client.getOutputStream().write(out);
    client.getOutputStream().flush();
    InputStream in = client.getInputStream();
    byte[] back = in.readNBytes(out.length);
    return new String(back, 0, back.length - 1, StandardCharsets.US_ASCII);
  }

  private Channel connect(IoHandlerFactory ioHandler, Class<? extends ServerChannel> server) throws Exception {
    group = new MultiThreadIoEventLoopGroup(1, ioHandler);
    Channel listener = new ServerBootstrap().group(group).channel(server)
        .childOption(ChannelOption.RCVBUF_ALLOCATOR, new ReceiveBufferSizer())
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.writeAndFlush((ByteBuf) msg);
              }
            });
            accepted.add(ch);
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    client = new Socket("127.0.0.1", ((InetSocketAddress) listener.localAddress()).getPort());
    client.setSoTimeout(10_000);
    Channel ch = accepted.poll(10, TimeUnit.SECONDS);
    assertThat(ch).as("accepted within 10 s").isNotNull();
    return ch;
  }
}
