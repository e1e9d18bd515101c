package io.longlink.server.internal.netty;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollIoOps;

/**
 * Lets epoll connections with the same interest set share one object for it.
 *
 * <p>Why: an epoll channel keeps the events it waits for as an immutable {@code EpollIoOps} (16
 * bytes); Netty shares the instances of small values, but a connection's usual set (read,
 * peer-closed, edge-triggered) is past that cache, so every connection holds its own equal copy.
 * Netty reads it only by value (and its {@code equals} compares values).
 *
 * <p>How: the copy sits in a non-final field of the channel; it is pointed at one instance per value,
 * on the channel's event loop, between its reads and writes (when Netty changes the set it makes a
 * new object, which the next call shares again). Only epoll; where the field cannot be reached,
 * nothing is shared. Thread-safe.
 */
public final class SharedEpollOps {
  /** Distinct sets kept; a connection moves between a handful, so more means something unusual: stop sharing. */
  static final int MAX_DISTINCT = 32;
  private static final NettyField OPS = NettyField.find("io.netty.channel.epoll.AbstractEpollChannel", "ops");
  private static final SharedInstances<EpollIoOps> SHARED = new SharedInstances<>(EpollIoOps.class, MAX_DISTINCT);

  private SharedEpollOps() {}

  /**
   * Points {@code ch}'s interest set at the instance shared by every channel with an equal one. Event loop only.
   *
   * @return true if {@code ch} now holds the shared instance
   */
  public static boolean share(Channel ch) {
    return OPS != null && OPS.in(ch) && SHARED.share(OPS, ch);
  }
}
