package io.longlink.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoutesTest {
  static final List<InetSocketAddress> DIRECT = List.of(new InetSocketAddress("127.0.0.1", 7000),
      new InetSocketAddress("127.0.0.2", 7000));

  @Test
  void withoutFallbackThereIsOneTierThatNeverMoves() {
    Routes r = new Routes(DIRECT, null);
    for (int i = 0; i < 10; i++) {
      assertThat(r.roundFailed()).isNull();
    }
    assertThat(r.route()).isEqualTo(Route.DIRECT);
    assertThat(r.endpoints()).isEqualTo(DIRECT);
    assertThat(r.onFallback()).isFalse();
  }

  @Test
  void movesDownAfterTheStatedFailedRoundsInARowThenWrapsAround() {
    Routes r = new Routes(DIRECT, Fallback.builder().altPorts(443, 80).relay("127.0.0.9", 7443)
        .failuresBeforeFallback(2).build());
    assertThat(r.endpoints()).isEqualTo(DIRECT);
    assertThat(r.roundFailed()).isNull();
    r.loggedIn(); // a login in between starts the count again
    assertThat(r.roundFailed()).isNull();
    assertThat(r.roundFailed()).isEqualTo(Route.ALTERNATIVE_PORT);
    assertThat(r.endpoints()).containsExactly(new InetSocketAddress("127.0.0.1", 443),
        new InetSocketAddress("127.0.0.1", 80), new InetSocketAddress("127.0.0.2", 443),
        new InetSocketAddress("127.0.0.2", 80));
    assertThat(r.onFallback()).isTrue();
    assertThat(r.roundFailed()).isNull();
    assertThat(r.roundFailed()).isEqualTo(Route.RELAY);
    assertThat(r.endpoints()).containsExactly(new InetSocketAddress("127.0.0.9", 7443));
    assertThat(r.roundFailed()).isNull();
    assertThat(r.roundFailed()).as("after the last tier, the first again").isEqualTo(Route.DIRECT);
    assertThat(r.onFallback()).isFalse();
  }

  @Test
  void aWorkingDirectProbeGoesBackToTheFirstTierWithAFreshCount() {
    Routes r = new Routes(DIRECT, Fallback.builder().relay("127.0.0.9", 7443).failuresBeforeFallback(1).build());
    assertThat(r.roundFailed()).as("no alternative ports: straight to the relay").isEqualTo(Route.RELAY);
    r.backToDirect();
    assertThat(r.route()).isEqualTo(Route.DIRECT);
    assertThat(r.direct()).isEqualTo(DIRECT);
    assertThat(r.roundFailed()).isEqualTo(Route.RELAY);
  }
}
