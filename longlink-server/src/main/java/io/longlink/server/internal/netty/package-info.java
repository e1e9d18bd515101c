/**
 * Internal, not API: what the gateway does to Netty's per-channel objects so that an idle connection
 * stays small (docs/BENCHMARKS.md, "idle connection"; ../shared/connection-footprint.md has the object
 * list). Public only because the core in another package calls it.
 *
 * <p><b>What it relies on.</b> All but {@link io.longlink.server.internal.netty.ReceiveBufferSizer}
 * (a {@code RecvByteBufAllocator}, public Netty API) reach into non-final private fields of Netty's
 * channels and unsafes by name, through {@link java.lang.invoke.MethodHandles#privateLookupIn}
 * ({@code NettyField}): {@code AbstractChannel.remoteAddress}, {@code AbstractEpollChannel.local},
 * {@code .remote}, {@code .ops}, {@code AbstractIoUringChannel.local}, {@code .remote}, {@code
 * AbstractChannel$AbstractUnsafe.recvHandle}, {@code .outboundBuffer}, {@code
 * AbstractEpollChannel$AbstractEpollUnsafe.allocHandle}, and the package-private constructor of
 * {@code ChannelOutboundBuffer}. They hold for Netty 4.2.18 on the class path. Each trim runs on the
 * channel's event loop only, between reads and writes, and only the gateway's one handler per
 * connection may call it.
 *
 * <p><b>When Netty changes.</b> A field that is not found (another Netty version, Netty on the module
 * path) makes its trim do nothing: the channel keeps what Netty made, logged at debug, and the
 * gateway works as before with a larger idle connection. Nothing here can make a connection
 * misbehave by being absent; a field that exists with another meaning could, which is what the
 * tests guard.
 *
 * <p><b>How the tests guard them.</b> Each class has a test over real loopback sockets on every
 * transport it claims (epoll, io_uring, NIO): it asserts that the trim <em>did</em> take its object
 * (a Netty upgrade that renames a field fails there, not silently), that the channel still reads,
 * writes, flushes and closes correctly afterwards, and that transports or peers it does not apply to
 * (NIO, IPv6) are left alone. The core's socket tests ({@code ServerSocketTestBase} and its
 * per-transport subclasses) check the same through a whole gateway, and {@code bench connections}
 * measures what they save.
 */
package io.longlink.server.internal.netty;
