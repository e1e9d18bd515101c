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
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** An accepted IPv4 connection's peer address moves out of Netty's channel into six bytes, unchanged (real sockets). */
class PeerAddressesTest {
  @AutoClose private BareServer server;

  @Test
  void epollGivesUpItsPeerAddress() throws Exception {
    assumeThat(Epoll.isAvailable()).as("native epoll").isTrue();
    takenAndTheSame(EpollIoHandler.newFactory(), EpollServerSocketChannel.class);
  }

  @Test
  void ioUringToo() throws Exception {
    assumeThat(IoUring.isAvailable()).as("io_uring").isTrue();
    takenAndTheSame(IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class);
  }

  private void takenAndTheSame(IoHandlerFactory io, Class<? extends ServerChannel> transport) throws Exception {
    server = new BareServer(io, transport, "127.0.0.1", ch -> {});
    Channel ch = server.connect("127.0.0.1");
    InetSocketAddress client = (InetSocketAddress) server.client(0).getLocalSocketAddress();
    long packed = take(ch);

    assertThat(packed).isNotEqualTo(PeerAddresses.NOT_TAKEN);
    InetSocketAddress kept = PeerAddresses.of(PeerAddresses.ip(packed), PeerAddresses.port(packed));
    assertThat(kept).isEqualTo(client);
    assertThat(kept).hasToString(client.toString());
    assertThat(ch.remoteAddress()).as("Netty's objects are gone").isNull();
    assertThat(take(ch)).as("once").isEqualTo(PeerAddresses.NOT_TAKEN);
  }

  @Test
  void nioKeepsItsOwn() throws Exception {
    server = new BareServer(NioIoHandler.newFactory(), NioServerSocketChannel.class, "127.0.0.1", ch -> {});
    Channel ch = server.connect("127.0.0.1");
    assertThat(take(ch)).isEqualTo(PeerAddresses.NOT_TAKEN);
    assertThat(ch.remoteAddress()).isEqualTo(server.client(0).getLocalSocketAddress());
  }

  @Test
  void anIpv6PeerKeepsItsOwn() throws Exception {
    assumeThat(Epoll.isAvailable()).as("native epoll").isTrue();
    assumeThat(NetworkInterface.getByInetAddress(InetAddress.getByName("::1"))).as("IPv6 loopback").isNotNull();
    server = new BareServer(EpollIoHandler.newFactory(), EpollServerSocketChannel.class, "::1", ch -> {});
    Channel ch = server.connect("::1");
    assertThat(take(ch)).isEqualTo(PeerAddresses.NOT_TAKEN);
    assertThat(ch.remoteAddress()).isEqualTo(server.client(0).getLocalSocketAddress());
  }

  private static long take(Channel ch) throws Exception {
    return ch.eventLoop().submit(() -> PeerAddresses.take(ch)).get(10, TimeUnit.SECONDS);
  }
}
