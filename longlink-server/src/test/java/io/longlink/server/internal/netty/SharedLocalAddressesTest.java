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
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** Accepted connections of the native transports share one local-address object per local address. */
class SharedLocalAddressesTest {
  private final SharedLocalAddresses addresses = new SharedLocalAddresses();
  private final BlockingQueue<Boolean> shared = new LinkedBlockingQueue<>();
  @AutoClose private BareServer server;

  @Test
  void epollConnectionsToOneAddressShareItsObjectAndEachLocalAddressHasItsOwn() throws Exception {
    assumeThat(Epoll.isAvailable()).as("native epoll").isTrue();
    sharesPerLocalAddress(EpollIoHandler.newFactory(), EpollServerSocketChannel.class);
  }

  @Test
  void ioUringConnectionsToOneAddressShareItsObjectAndEachLocalAddressHasItsOwn() throws Exception {
    assumeThat(IoUring.isAvailable()).as("native io_uring").isTrue();
    sharesPerLocalAddress(IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class);
  }

  @Test
  void nioConnectionsKeepTheirOwnAddress() throws Exception {
    int port = listen(NioIoHandler.newFactory(), NioServerSocketChannel.class);
    Channel a = server.connect("127.0.0.1");
    assertThat(shared.take()).isFalse();
    assertThat(a.localAddress()).isEqualTo(new InetSocketAddress("127.0.0.1", port));
    assertThat(addresses.distinct()).isZero();
  }

  private void sharesPerLocalAddress(IoHandlerFactory io, Class<? extends ServerChannel> transport) throws Exception {
    int port = listen(io, transport);
    Channel a = server.connect("127.0.0.1");
    Channel b = server.connect("127.0.0.1");
    Channel c = server.connect("127.0.0.2");
    assertThat(List.of(shared.take(), shared.take(), shared.take())).containsOnly(true);

    assertThat(a.localAddress()).isEqualTo(new InetSocketAddress("127.0.0.1", port)).isSameAs(b.localAddress());
    assertThat(c.localAddress()).isEqualTo(new InetSocketAddress("127.0.0.2", port)).isNotSameAs(a.localAddress());
    assertThat(a.remoteAddress()).isEqualTo(server.client(0).getLocalSocketAddress());
    assertThat(addresses.distinct()).isEqualTo(2);
    // Still a working connection: a byte written by the server arrives.
    a.writeAndFlush(a.alloc().buffer(1).writeByte(42)).sync();
    assertThat(server.client(0).getInputStream().read()).isEqualTo(42);
  }

  /** A server on every local address whose accepted channels go through {@link SharedLocalAddresses#share}. */
  private int listen(IoHandlerFactory io, Class<? extends ServerChannel> transport) {
    server = new BareServer(io, transport, "0.0.0.0", ch -> shared.add(addresses.share(ch)));
    return server.port;
  }
}
