package io.longlink.server.internal;
import io.longlink.server.ServerConfig;

class IoUringServerSocketTest extends ServerSocketTestBase {
  @Override
  ServerConfig.Transport transport() {
    return ServerConfig.Transport.IO_URING;
  }
}
