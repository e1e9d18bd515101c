package io.longlink.server.internal.netty;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;

/**
 * Lets the connections accepted by one gateway share their local-address object.
 *
 * <p>Why: Netty's native transports read an accepted socket's local address at accept time and keep
 * their own copy for the connection's life: an {@code InetSocketAddress} with its {@code
 * InetAddress} and two holders, about 80 bytes, on every idle connection, although every connection
 * to a listener has the same one (a wildcard listener: one per local interface address). Sharing
 * one equal object changes nothing a caller can see except {@code ==}.
 *
 * <p>How: the epoll and io_uring channels keep that copy in a non-final field; it is replaced by
 * the shared instance before the connection is first used. Where the field cannot be reached (another
 * transport, another Netty version, Netty on the module path), connections keep their own copy.
 * Thread-safe.
 */
public final class SharedLocalAddresses {
  /** Distinct local addresses kept; a host has few, so more means something unusual: stop sharing. */
  static final int MAX_DISTINCT = 64;
  private static final NettyField[] FIELDS = {
      NettyField.find("io.netty.channel.epoll.AbstractEpollChannel", "local"),
      NettyField.find("io.netty.channel.uring.AbstractIoUringChannel", "local")};

  private final SharedInstances<InetSocketAddress> shared = new SharedInstances<>(InetSocketAddress.class, MAX_DISTINCT);

  /**
   * Points {@code ch}'s local address at the instance shared by every connection with an equal one.
   * Call once, on the channel's event loop, before anything reads it.
   *
   * @return true if {@code ch} now holds the shared instance
   */
  public boolean share(Channel ch) {
    NettyField f = NettyField.firstIn(FIELDS, ch);
    return f != null && shared.share(f, ch);
  }

  /** Distinct local addresses being shared. */
  int distinct() {
    return shared.distinct();
  }
}
