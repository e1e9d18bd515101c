package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.Frame;
import io.longlink.protocol.testing.RawClient;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import io.longlink.server.ServerConfig;
import io.longlink.server.Authenticator;
import io.longlink.server.TcpOptions;

/** The socket options reach the kernel: read back with getsockopt from the server's own sockets. */
class TcpOptionsTest {

  @Test
  void clientConnectionsGetTheConfiguredSocketOptions() throws Exception {
    Assumptions.assumeTrue(Epoll.isAvailable(), "native epoll is needed for TCP_USER_TIMEOUT and TCP_KEEP*");
    TcpOptions tcp = TcpOptions.builder()
        .keepAlive(true, Duration.ofSeconds(77), Duration.ofSeconds(7), 4)
        .userTimeout(Duration.ofMillis(12_345))
        .buffers(64 * 1024, 128 * 1024)
        .writeBufferWaterMarks(1024, 4096)
        .build();
    try (GatewayNode server = TestNodes.node(
        ServerConfig.builder().port(0).transport(ServerConfig.Transport.EPOLL).tcp(tcp).build(), Authenticator.acceptAll())
        .start();
        RawClient client = RawClient.connect(server.localAddress())) {
      client.send(Frame.Hello.newSession("bob", ""));
      client.readUntil(Frame.Welcome.class);
      await().until(() -> server.connections().size() == 1);
      Channel ch = server.connections().get(0).channel();
      assertThat(ch.config().getOption(ChannelOption.SO_KEEPALIVE)).isTrue();
      assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPIDLE)).isEqualTo(77);
      assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPINTVL)).isEqualTo(7);
      assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPCNT)).isEqualTo(4);
      assertThat(ch.config().getOption(EpollChannelOption.TCP_USER_TIMEOUT)).isEqualTo(12_345);
      assertThat(ch.config().getOption(ChannelOption.SO_RCVBUF)).isGreaterThanOrEqualTo(64 * 1024); // the kernel doubles it
      assertThat(ch.config().getOption(ChannelOption.SO_SNDBUF)).isGreaterThanOrEqualTo(128 * 1024);
      assertThat(ch.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
      WriteBufferWaterMark marks = ch.config().getOption(ChannelOption.WRITE_BUFFER_WATER_MARK);
      assertThat(List.of(marks.low(), marks.high())).containsExactly(1024, 4096);
    }
  }

  @Test
  void defaultsKeepAliveOnAndBoundUnacknowledgedData() {
    TcpOptions d = TcpOptions.builder().build();
    assertThat(d.keepAlive()).isTrue();
    // A dead peer is found by keepalive within idle + interval × count.
    assertThat(d.keepAliveIdle().plus(d.keepAliveInterval().multipliedBy(d.keepAliveCount())))
        .isEqualTo(Duration.ofSeconds(90));
    assertThat(d.userTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(d.receiveBuffer()).isZero(); // autotuning
  }

  @Test
  void badValuesAreNamed() {
    assertThatThrownBy(() -> TcpOptions.builder().keepAlive(true, Duration.ofMillis(500), Duration.ofSeconds(1), 3).build())
        .hasMessageContaining("keepAliveIdle: PT0.5S");
    assertThatThrownBy(() -> TcpOptions.builder().writeBufferWaterMarks(100, 50).build())
        .hasMessageContaining("writeBufferHighWaterMark: 50 (expected: >= writeBufferLowWaterMark 100)");
    assertThatThrownBy(() -> TcpOptions.builder().keepAlive(true, Duration.ofSeconds(1), Duration.ofSeconds(1), 200).build())
        .hasMessageContaining("keepAliveCount: 200");
  }
}
