package io.longlink.server;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the Netty transport: native epoll where it loads, NIO otherwise, or in-memory local
 * channels ({@code socket} false: no TCP options apply).
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

  private static Transports epoll() {
    return new Transports("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class, true);
  }

  private static Transports nio() {
    return new Transports("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, true);
  }
}
