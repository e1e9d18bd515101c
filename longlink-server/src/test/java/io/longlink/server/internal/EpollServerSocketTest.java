package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.Frame;
import io.longlink.protocol.testing.RawClient;
import io.longlink.server.internal.netty.IdleReceiveHandles;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import io.longlink.server.ServerConfig;
import io.longlink.server.Authenticator;

class EpollServerSocketTest extends ServerSocketTestBase {
  @Override
  ServerConfig.Transport transport() {
    return ServerConfig.Transport.EPOLL;
  }

  @Test
  void anIdleConnectionGivesItsReceiveHandlesBackAndReadsOnWithNewOnes() throws Exception {
    InetSocketAddress a = start(ServerConfig.builder().sweepInterval(Duration.ofMillis(100)), Authenticator.acceptAll());
    RawClient quiet = login(a, "quiet");
    ServerConnection connection = server.connections().get(0);
    assertThat(holdsReceiveHandles(connection)).as("read its HELLO").isTrue();

    await().atMost(Duration.ofSeconds(10)).until(() -> !holdsReceiveHandles(connection));
    quiet.send(toClient(1, "quiet", "to myself"));
    assertThat(quiet.readUntil(Frame.Data.class).payload()).isEqualTo(utf8("to myself"));
    assertThat(holdsReceiveHandles(connection)).as("made again by the read").isTrue();
    await("dropped again once idle again").atMost(Duration.ofSeconds(10))
        .until(() -> !holdsReceiveHandles(connection));
  }

  private static boolean holdsReceiveHandles(ServerConnection c) {
    return c.channel().eventLoop().submit(() -> IdleReceiveHandles.holds(c.channel())).syncUninterruptibly().getNow();
  }
}
