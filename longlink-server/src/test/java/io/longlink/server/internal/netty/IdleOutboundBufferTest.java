package io.longlink.server.internal.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * A connection's empty outbound buffer is taken and given back, and the connection writes as before
 * (real sockets, an echo server that restores before each write, as the gateway's handler does).
 */
class IdleOutboundBufferTest {
  @AutoClose private BareServer server;

  @Test
  void anEpollConnectionWritesAgainWithANewBuffer() throws Exception {
    assumeThat(Epoll.isAvailable()).as("native epoll").isTrue();
    takeWriteAndTakeAgain(connect(EpollIoHandler.newFactory(), EpollServerSocketChannel.class));
  }

  @Test
  void aNioConnectionToo() throws Exception {
    takeWriteAndTakeAgain(connect(NioIoHandler.newFactory(), NioServerSocketChannel.class));
  }

  private void takeWriteAndTakeAgain(Channel ch) throws Exception {
    assertThat(echo("before")).isEqualTo("before");
    assertThat(onLoop(ch, () -> IdleOutboundBuffer.release(ch))).as("empty buffer taken").isTrue();
    assertThat(onLoop(ch, () -> IdleOutboundBuffer.holds(ch) || ch.isWritable()))
        .as("without one Netty calls the channel unwritable: why the handler restores first").isFalse();
    assertThat(onLoop(ch, () -> IdleOutboundBuffer.release(ch))).as("nothing left to take").isFalse();

    String big = "x".repeat(200_000); // more than one socket write
    assertThat(echo(big)).isEqualTo(big);
    assertThat(onLoop(ch, () -> IdleOutboundBuffer.holds(ch))).as("given back by the write").isTrue();
    assertThat(onLoop(ch, () -> IdleOutboundBuffer.release(ch))).as("empty again once written").isTrue();
    assertThat(echo("after")).isEqualTo("after");
  }

  @Test
  void aBufferHoldingAMessageIsKept() throws Exception {
    assumeThat(Epoll.isAvailable()).as("native epoll").isTrue();
    Channel ch = connect(EpollIoHandler.newFactory(), EpollServerSocketChannel.class);
    assertThat(onLoop(ch, () -> {
      ch.write(Unpooled.copiedBuffer("unflushed\n", StandardCharsets.US_ASCII), ch.voidPromise());
      return IdleOutboundBuffer.release(ch);
    })).as("an unflushed message").isFalse();
    ch.flush();
    assertThat(readLine()).isEqualTo("unflushed");
  }

  @Test
  void aClosedChannelGetsNoneBackAndKeepsFailingWrites() throws Exception {
    assumeThat(Epoll.isAvailable()).as("native epoll").isTrue();
    Channel ch = connect(EpollIoHandler.newFactory(), EpollServerSocketChannel.class);
    assertThat(onLoop(ch, () -> IdleOutboundBuffer.release(ch))).isTrue();
    ch.close().syncUninterruptibly();
    ByteBuf msg = Unpooled.copiedBuffer("late", StandardCharsets.US_ASCII);
    ChannelFuture write = onLoop(ch, () -> {
      IdleOutboundBuffer.restore(ch);
      return ch.writeAndFlush(msg);
    });
    assertThat(write.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(write.cause()).isInstanceOf(ClosedChannelException.class);
    assertThat(msg.refCnt()).as("released by the failed write").isZero();
    assertThat(IdleOutboundBuffer.holds(ch)).isFalse();
  }

  private static <T> T onLoop(Channel ch, Callable<T> task) throws Exception {
    return ch.eventLoop().submit(task).get(10, TimeUnit.SECONDS);
  }

  private String echo(String text) throws Exception {
    return server.echo(0, text);
  }

  private String readLine() throws IOException {
    StringBuilder line = new StringBuilder();
    for (int c; (c = server.client(0).getInputStream().read()) != '\n' && c >= 0; ) {
      line.append((char) c);
    }
    return line.toString();
  }

  /** An echo server whose handler restores the buffer before each write; the server's channel for one client. */
  private Channel connect(IoHandlerFactory ioHandler, Class<? extends ServerChannel> transport) throws Exception {
    server = new BareServer(ioHandler, transport, "127.0.0.1", ch -> ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        IdleOutboundBuffer.restore(ctx.channel());
        ctx.writeAndFlush((ByteBuf) msg);
      }
    }));
    return server.connect("127.0.0.1");
  }
}
