package io.longlink.server;

class IoUringServerSocketTest extends ServerSocketTestBase {
  @Override
  ServerConfig.Transport transport() {
    return ServerConfig.Transport.IO_URING;
  }
}
