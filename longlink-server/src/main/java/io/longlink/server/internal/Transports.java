package io.longlink.server.internal;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import jdk.net.ExtendedSocketOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.longlink.server.ServerConfig;
import io.longlink.server.TcpOptions;

/**
 * Picks the Netty transport: native epoll where it loads, NIO otherwise, native io_uring when asked
 * for, or in-memory local
 * channels ({@code socket} false: no TCP options apply), and applies {@link TcpOptions} in the
 * transport's own terms.
 */
record Transports(String name, IoHandlerFactory ioHandlerFactory, Class<? extends ServerChannel> serverChannelClass,
    boolean socket) {
  private static final Logger log = LoggerFactory.getLogger(Transports.class);

  static Transports select(ServerConfig.Transport wanted) {
    switch (wanted) {
      case NIO:
        return nio();
      case IN_MEMORY:
        return new Transports("in-memory", LocalIoHandler.newFactory(), LocalServerChannel.class, false);
      case IO_URING:
        if (!IoUring.isAvailable()) {
          throw new IllegalStateException("transport IO_URING requested but io_uring is unavailable: "
              + IoUring.unavailabilityCause());
        }
        return new Transports("io_uring", IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class, true);
      case EPOLL:
        if (!Epoll.isAvailable()) {
          throw new IllegalStateException("transport EPOLL requested but native epoll is unavailable: "
              + Epoll.unavailabilityCause());
        }
        return epoll();
      default:
        if (Epoll.isAvailable()) {
          return epoll();
        }
        log.info("native epoll unavailable ({}); using NIO", String.valueOf(Epoll.unavailabilityCause()));
        return nio();
    }
  }

  /** Sets the listen backlog and the client connections' socket options. */
  void apply(TcpOptions tcp, ServerBootstrap b) {
    if (!socket) {
      return;
    }
    b.option(ChannelOption.SO_BACKLOG, tcp.backlog())
        .childOption(ChannelOption.TCP_NODELAY, tcp.noDelay())
        .childOption(ChannelOption.SO_KEEPALIVE, tcp.keepAlive())
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(tcp.writeBufferLowWaterMark(), tcp.writeBufferHighWaterMark()));
    if (tcp.receiveBuffer() > 0) {
      b.childOption(ChannelOption.SO_RCVBUF, tcp.receiveBuffer());
    }
    if (tcp.sendBuffer() > 0) {
      b.childOption(ChannelOption.SO_SNDBUF, tcp.sendBuffer());
    }
    if (tcp.reusePort()) {
      switch (name) {
        case "epoll" -> b.option(EpollChannelOption.SO_REUSEPORT, true);
        case "io_uring" -> b.option(IoUringChannelOption.SO_REUSEPORT, true);
        default -> b.option(NioChannelOption.of(java.net.StandardSocketOptions.SO_REUSEPORT), true);
      }
    }
    if (name.equals("epoll")) {
      b.childOption(EpollChannelOption.TCP_KEEPIDLE, (int) tcp.keepAliveIdle().toSeconds())
          .childOption(EpollChannelOption.TCP_KEEPINTVL, (int) tcp.keepAliveInterval().toSeconds())
          .childOption(EpollChannelOption.TCP_KEEPCNT, tcp.keepAliveCount());
      if (!tcp.userTimeout().isZero()) {
        b.childOption(EpollChannelOption.TCP_USER_TIMEOUT, (int) tcp.userTimeout().toMillis());
      }
    } else if (name.equals("io_uring")) {
      b.childOption(IoUringChannelOption.TCP_KEEPIDLE, (int) tcp.keepAliveIdle().toSeconds())
          .childOption(IoUringChannelOption.TCP_KEEPINTVL, (int) tcp.keepAliveInterval().toSeconds())
          .childOption(IoUringChannelOption.TCP_KEEPCNT, tcp.keepAliveCount());
      if (!tcp.userTimeout().isZero()) {
        b.childOption(IoUringChannelOption.TCP_USER_TIMEOUT, (int) tcp.userTimeout().toMillis());
      }
    } else {
      b.childOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), (int) tcp.keepAliveIdle().toSeconds())
          .childOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), (int) tcp.keepAliveInterval().toSeconds())
          .childOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), tcp.keepAliveCount());
      if (!tcp.userTimeout().isZero()) {
        log.info("TCP_USER_TIMEOUT needs the epoll transport; NIO connections use the kernel default");
      }
    }
  }

  private static Transports epoll() {
    return new Transports("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class, true);
  }

  private static Transports nio() {
    return new Transports("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, true);
  }
}
