package io.longlink.server.internal.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.netty.channel.Channel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** Epoll connections with the same interest set share one object for it and go on reading and writing (real sockets). */
class SharedEpollOpsTest {
  private static final NettyField OPS = NettyField.find("io.netty.channel.epoll.AbstractEpollChannel", "ops");
  @AutoClose private BareServer server;

  @Test
  void twoEpollConnectionsShareOneInterestSet() throws Exception {
    assumeThat(Epoll.isAvailable()).as("native epoll").isTrue();
    server = echoServer(true);
    Channel a = server.connect("127.0.0.1");
    Channel b = server.connect("127.0.0.1");
    assertThat(server.echo(0, "a")).isEqualTo("a");
    assertThat(server.echo(1, "b")).isEqualTo("b");
    assertThat(onLoop(a, () -> OPS.handle().get(a))).as("each its own copy").isNotSameAs(onLoop(b, () -> OPS.handle().get(b)))
        .isEqualTo(onLoop(b, () -> OPS.handle().get(b)));

    assertThat(onLoop(a, () -> SharedEpollOps.share(a))).isTrue();
    assertThat(onLoop(b, () -> SharedEpollOps.share(b))).isTrue();
    assertThat(onLoop(a, () -> OPS.handle().get(a))).isSameAs(onLoop(b, () -> OPS.handle().get(b)));

    // Past the socket buffers, so Netty may add EPOLLOUT to the shared set while writing (a new object) and take it off.
    String big = "x".repeat(4 << 20);
    assertThat(server.echo(0, big)).isEqualTo(big);
    assertThat(server.echo(1, "b again")).isEqualTo("b again");
  }

  @Test
  void nioHasNone() throws Exception {
    server = echoServer(false);
    Channel ch = server.connect("127.0.0.1");
    assertThat(onLoop(ch, () -> SharedEpollOps.share(ch))).isFalse();
  }

  private static <T> T onLoop(Channel ch, Callable<T> task) throws Exception {
    return ch.eventLoop().submit(task).get(10, TimeUnit.SECONDS);
  }

  private static BareServer echoServer(boolean epoll) {
    return new BareServer(epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory(),
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class, "127.0.0.1",
        ch -> ch.pipeline().addLast(BareServer.echo()));
  }
}
