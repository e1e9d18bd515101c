package io.longlink.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.longlink.server.ServerConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The mixins parse what `longlink server` documents, and their defaults are ServerConfig's own. */
class GatewayOptionsTest {
  @Command(name = "gateway")
  static final class Holder {
    @Mixin GatewayOptions gateway;
    @Mixin AckOptions acks;
    @Mixin LimitOptions limits;

    ServerConfig config() {
      return acks.applyTo(gateway.applyTo(ServerConfig.builder())).limits(limits.limits()).build();
    }
  }

  static Holder parse(String... args) {
    Holder h = new Holder();
    CommandLine cl = new CommandLine(h);
    cl.registerConverter(Duration.class, Durations::parse);
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.parseArgs(args);
    return h;
  }

  @Test
  void withNoFlagsTheConfigIsServerConfigsDefault() {
    // A default written twice that drifted would show here: the benches and the server would differ.
    assertThat(parse().config()).isEqualTo(ServerConfig.builder().build());
  }

  @Test
  void flagsReachTheConfig() {
    ServerConfig c = parse("--heartbeat-interval", "10s", "--heartbeat-misses", "5", "--write-coalescing", "0s",
        "--io-thread-slice", "250us", "--transport", "nio", "--slow-consumer", "drop_oldest", "--ack-batch", "8",
        "--ack-delay", "5ms", "--tcp-keepalive-idle", "120s", "--write-buffer-high", "131072",
        "--max-subscriptions", "7", "--handshake-retry-window", "3s", "--replay-buffer-messages", "1024").config();
    assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.heartbeatMisses()).isEqualTo(5);
    assertThat(c.writeCoalescing()).isZero();
    assertThat(c.ioThreadSlice()).isEqualTo(Duration.ofNanos(250_000));
    assertThat(c.transport()).isEqualTo(ServerConfig.Transport.NIO);
    assertThat(c.slowConsumerPolicy()).isEqualTo(ServerConfig.SlowConsumerPolicy.DROP_OLDEST);
    assertThat(c.ackBatchMessages()).isEqualTo(8);
    assertThat(c.ackDelay()).isEqualTo(Duration.ofMillis(5));
    assertThat(c.tcp().keepAliveIdle()).isEqualTo(Duration.ofSeconds(120));
    assertThat(c.tcp().writeBufferHighWaterMark()).isEqualTo(131072);
    assertThat(c.limits().maxSubscriptions()).isEqualTo(7);
    assertThat(c.limits().handshakeRetryWindowMillis()).isEqualTo(3000);
    assertThat(c.replayBufferMessages()).isEqualTo(1024);
  }

  @Test
  void aValueTheConfigRefusesIsNamed() {
    assertThatThrownBy(() -> parse("--heartbeat-misses", "0").config()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("heartbeatMisses: 0");
  }

  @Test
  void durationsTakeTheShortForms() {
    assertThat(Durations.parse("100us")).isEqualTo(Duration.ofNanos(100_000));
    assertThat(Durations.format(Duration.ofMillis(250))).isEqualTo("250ms");
    assertThatThrownBy(() -> Durations.parse("soon")).hasMessageContaining("'soon' (expected: e.g. 100us");
  }
}
