package io.longlink.server.internal.netty;

import io.netty.channel.Channel;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * Keeps an accepted IPv4 connection's peer address in six bytes of the connection instead of in
 * Netty's objects.
 *
 * <p>Why: Netty's native transports read an accepted socket's peer address at accept time and keep
 * it for the connection's life -- an {@code InetSocketAddress}, its {@code InetAddress} and two
 * holders, 80 bytes on every idle connection -- which the gateway reads only to log, to count
 * connections per address and to show in the admin API. An IPv4 address and a port fit in an int
 * and a char; the object is made again whenever one is shown.
 *
 * <p>How: the epoll and io_uring channels keep it in a non-final field that only {@code
 * remoteAddress()} reads (and {@code connect}, which accepted channels never call); Netty's
 * channel caches what {@code remoteAddress()} returned in another. Both are cleared, after which
 * the channel's {@code remoteAddress()} returns {@code null}: the connection's own accessor is the
 * one to use. IPv6 peers, NIO and fields that cannot be reached are left as Netty made them.
 */
public final class PeerAddresses {
  /** What {@link #take} returns when it took nothing. */
  public static final long NOT_TAKEN = -1;
  private static final NettyField CACHE = NettyField.find("io.netty.channel.AbstractChannel", "remoteAddress");
  private static final NettyField[] FIELDS = {
      NettyField.find("io.netty.channel.epoll.AbstractEpollChannel", "remote"),
      NettyField.find("io.netty.channel.uring.AbstractIoUringChannel", "remote")};

  private PeerAddresses() {}

  /**
   * Takes {@code ch}'s IPv4 peer address out of Netty's fields. Call once, on the channel's event
   * loop, for an accepted channel.
   *
   * @return {@link #ip}{@code << 16 | }{@link #port} packed, or {@link #NOT_TAKEN}
   */
  public static long take(Channel ch) {
    if (CACHE == null || !CACHE.in(ch)) {
      return NOT_TAKEN;
    }
    NettyField f = NettyField.firstIn(FIELDS, ch);
    if (f == null || !(f.handle().getVolatile(ch) instanceof InetSocketAddress peer)
        || !(peer.getAddress() instanceof Inet4Address v4) || peer.getPort() == 0) {
      return NOT_TAKEN;
    }
    byte[] b = v4.getAddress();
    int ip = (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    f.handle().setVolatile(ch, (InetSocketAddress) null);
    CACHE.handle().setVolatile(ch, (InetSocketAddress) null);
    return (ip & 0xffff_ffffL) << 16 | peer.getPort();
  }

  /** The IPv4 address of a packed value of {@link #take}. */
  public static int ip(long packed) {
    return (int) (packed >>> 16);
  }

  /** The port of a packed value of {@link #take}: never 0. */
  public static char port(long packed) {
    return (char) packed;
  }

  /** The address kept as {@code ip} and {@code port}, as a new object. */
  public static InetSocketAddress of(int ip, char port) {
    try {
      return new InetSocketAddress(
          InetAddress.getByAddress(new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip}), port);
    } catch (UnknownHostException e) {
      throw new AssertionError("four bytes are an IPv4 address", e); // only a wrong length throws
    }
  }
}
