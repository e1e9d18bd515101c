package io.longlink.server.internal.netty;

import io.netty.channel.Channel;

/**
 * Drops the receive-buffer handles of a connection that has read nothing for a while; Netty makes
 * new ones at its next read.
 *
 * <p>Why: from its first read to its close an epoll channel keeps the handle that sizes its receive
 * buffers ({@link ReceiveBufferSizer}'s, 32 bytes) and Netty's epoll wrapper around it (three
 * objects, 56 bytes), although an idle connection reads one heartbeat every half minute. Made
 * again, they cost four small allocations per read of an idle connection; kept, 88 bytes on every
 * one of a million idle connections. The size guess starts over at the next read, which for an
 * idle connection is a heartbeat.
 *
 * <p>How: Netty creates both lazily, at a read, into non-final fields of the channel's unsafe, and
 * reads them nowhere else; they are cleared on the channel's event loop, between reads. Only epoll:
 * io_uring keeps its handle while a read is in flight. Where the fields cannot be reached, nothing
 * is dropped.
 */
public final class IdleReceiveHandles {
  private static final NettyField EPOLL_WRAPPER =
      NettyField.find("io.netty.channel.epoll.AbstractEpollChannel$AbstractEpollUnsafe", "allocHandle");
  private static final NettyField HANDLE = NettyField.find("io.netty.channel.AbstractChannel$AbstractUnsafe", "recvHandle");

  private IdleReceiveHandles() {}

  /**
   * Drops {@code ch}'s receive handles. Call on its event loop only (so never inside a read), for a
   * connection that has been reading nothing.
   *
   * @return true if it held handles and now holds none
   */
  public static boolean release(Channel ch) {
    if (!holds(ch)) {
      return false;
    }
    Channel.Unsafe unsafe = ch.unsafe();
    // Both or neither: the wrapper holds the handle it wraps, and Netty makes the pair again together.
    EPOLL_WRAPPER.handle().set(unsafe, (Object) null);
    HANDLE.handle().set(unsafe, (Object) null);
    return true;
  }

  /** True if {@code ch} is an epoll channel holding receive handles (it read since they were dropped). Event loop only. */
  public static boolean holds(Channel ch) {
    Channel.Unsafe unsafe = ch.unsafe();
    return EPOLL_WRAPPER != null && HANDLE != null && EPOLL_WRAPPER.in(unsafe)
        && (EPOLL_WRAPPER.handle().get(unsafe) != null || HANDLE.handle().get(unsafe) != null);
  }
}
