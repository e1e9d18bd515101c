package io.longlink.server;

class EpollServerSocketTest extends ServerSocketTestBase {
  @Override
  ServerConfig.Transport transport() {
    return ServerConfig.Transport.EPOLL;
  }
}
