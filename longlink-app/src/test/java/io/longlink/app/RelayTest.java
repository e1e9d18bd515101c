package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.app.relay.Relay;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The relay over loopback: bytes both ways unchanged, a dead upstream skipped, none left: closed. */
class RelayTest {
  static int deadPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void forwardsBothWaysToTheFirstUpstreamThatAnswers() throws Exception {
    try (ServerSocket upstream = new ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress());
        Relay relay = new Relay(new InetSocketAddress("127.0.0.1", 0), List.of(
            new InetSocketAddress("127.0.0.1", deadPort()), (InetSocketAddress) upstream.getLocalSocketAddress()),
            Duration.ofSeconds(1), Duration.ofMillis(200)).start();
        Socket client = new Socket()) {
      client.connect(relay.address(), 2_000);
      client.setSoTimeout(5_000);
      try (Socket accepted = upstream.accept()) {
        accepted.setSoTimeout(5_000);
        byte[] big = new byte[1 << 20];
        for (int i = 0; i < big.length; i++) {
          big[i] = (byte) (i * 31);
        }
        OutputStream out = client.getOutputStream();
        out.write(big);
        out.flush();
        byte[] got = new byte[big.length];
        new DataInputStream(accepted.getInputStream()).readFully(got);
        assertThat(got).isEqualTo(big);
        accepted.getOutputStream().write("pong".getBytes(StandardCharsets.US_ASCII));
        byte[] back = new byte[4];
        new DataInputStream(client.getInputStream()).readFully(back);
        assertThat(new String(back, StandardCharsets.US_ASCII)).isEqualTo("pong");
        accepted.close();
        assertThat(client.getInputStream().read()).as("the upstream's close reaches the client").isEqualTo(-1);
      }
      assertThat(relay.relayed()).isEqualTo(1);
    }
  }

  @Test
  void closesTheClientWhenNoUpstreamAnswers() throws Exception {
    try (Relay relay = new Relay(new InetSocketAddress("127.0.0.1", 0), List.of(new InetSocketAddress("127.0.0.1",
        deadPort())), Duration.ofSeconds(1), Duration.ofMillis(200)).start();
        Socket client = new Socket()) {
      client.connect(relay.address(), 2_000);
      client.setSoTimeout(5_000);
      assertThat(client.getInputStream().read()).isEqualTo(-1);
      await().atMost(Duration.ofSeconds(5)).until(() -> relay.refused() == 1);
    }
  }
}
