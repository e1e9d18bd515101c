package io.longlink.server.internal;
import io.longlink.server.ServerConfig;

class NioServerSocketTest extends ServerSocketTestBase {
  @Override
  ServerConfig.Transport transport() {
    return ServerConfig.Transport.NIO;
  }
}
