package io.longlink.server.internal.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.netty.channel.Channel;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** An idle epoll connection gives its receive handles back and still reads afterwards (real sockets, an echo server). */
class IdleReceiveHandlesTest {
  @AutoClose private BareServer server;

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

  private String echo(String text) throws Exception {
    return server.echo(0, text);
  }

  /** An echo server sizing its reads as the gateway does, and one client; the server's channel for it. */
  private Channel connect(IoHandlerFactory ioHandler, Class<? extends ServerChannel> transport) throws Exception {
    server = new BareServer(ioHandler, transport, "127.0.0.1", ch -> {
      ch.config().setRecvByteBufAllocator(new ReceiveBufferSizer());
      ch.pipeline().addLast(BareServer.echo());
    });
    return server.connect("127.0.0.1");
  }
}
