package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Accepted connections of the native transports share one local-address object per local address. */
class SharedLocalAddressesTest {
  private final SharedLocalAddresses addresses = new SharedLocalAddresses();
  private final BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
  private final BlockingQueue<Boolean> shared = new LinkedBlockingQueue<>();
  private final List<Socket> clients = new ArrayList<>();
  private EventLoopGroup group;

  @AfterEach
  void stop() throws IOException {
    for (Socket s : clients) {
      s.close();
    }
    if (group != null) {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

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
    Channel a = accept("127.0.0.1", port);
    assertThat(shared.take()).isFalse();
    assertThat(a.localAddress()).isEqualTo(new InetSocketAddress("127.0.0.1", port));
    assertThat(addresses.distinct()).isZero();
  }

  private void sharesPerLocalAddress(IoHandlerFactory io, Class<? extends ServerChannel> server) throws Exception {
    int port = listen(io, server);
    Channel a = accept("127.0.0.1", port);
    Channel b = accept("127.0.0.1", port);
    Channel c = accept("127.0.0.2", port);
    assertThat(List.of(shared.take(), shared.take(), shared.take())).containsOnly(true);

    assertThat(a.localAddress()).isEqualTo(new InetSocketAddress("127.0.0.1", port)).isSameAs(b.localAddress());
    assertThat(c.localAddress()).isEqualTo(new InetSocketAddress("127.0.0.2", port)).isNotSameAs(a.localAddress());
    assertThat(a.remoteAddress()).isEqualTo(clients.get(0).getLocalSocketAddress());
    assertThat(addresses.distinct()).isEqualTo(2);
    // Still a working connection: a byte written by the server arrives.
    a.writeAndFlush(a.alloc().buffer(1).writeByte(42)).sync();
    assertThat(clients.get(0).getInputStream().read()).isEqualTo(42);
  }

  /** A server on every local address whose accepted channels go through {@link SharedLocalAddresses#share}. */
  private int listen(IoHandlerFactory io, Class<? extends ServerChannel> server) {
    group = new MultiThreadIoEventLoopGroup(1, io);
    Channel listener = new ServerBootstrap().group(group).channel(server)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            shared.add(addresses.share(ch));
            accepted.add(ch);
          }
        })
        .bind(new InetSocketAddress("0.0.0.0", 0)).syncUninterruptibly().channel();
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  private Channel accept(String host, int port) throws Exception {
    clients.add(new Socket(host, port));
    Channel ch = accepted.poll(10, TimeUnit.SECONDS);
    assertThat(ch).as("accepted within 10 s").isNotNull();
    return ch;
  }
}
