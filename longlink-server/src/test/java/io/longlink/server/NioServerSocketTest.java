package io.longlink.server;

class NioServerSocketTest extends ServerSocketTestBase {
  @Override
  ServerConfig.Transport transport() {
    return ServerConfig.Transport.NIO;
  }
}
