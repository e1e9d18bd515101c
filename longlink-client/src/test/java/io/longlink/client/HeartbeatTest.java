package io.longlink.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.client.Heartbeat.Action;
import io.longlink.protocol.testing.FakeTicker;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class HeartbeatTest {
  final FakeTicker clock = new FakeTicker();
  final Heartbeat hb = new Heartbeat(Duration.ofSeconds(30).toNanos(), 3, clock.nanoTime());

  long now() {
    return clock.nanoTime();
  }

  @Test
  void idleConnectionPingsEveryIntervalAndDiesAfterMisses() {
    assertThat(hb.check(now())).isEqualTo(Action.NONE);
    assertThat(hb.nanosUntilNextCheck(now())).isEqualTo(Duration.ofSeconds(30).toNanos());
    clock.advance(Duration.ofSeconds(30));
    assertThat(hb.check(now())).isEqualTo(Action.PING);
    hb.onWrite(now());
    clock.advance(Duration.ofSeconds(30));
    assertThat(hb.check(now())).isEqualTo(Action.PING);
    hb.onWrite(now());
    clock.advance(Duration.ofSeconds(29));
    assertThat(hb.check(now())).isEqualTo(Action.NONE);
    assertThat(hb.nanosUntilNextCheck(now())).isEqualTo(Duration.ofSeconds(1).toNanos());
    clock.advance(Duration.ofSeconds(1));
    assertThat(hb.check(now())).isEqualTo(Action.DEAD); // 90 s without a read
  }

  @Test
  void trafficInEachDirectionPostponesItsOwnCheckOnly() {
    clock.advance(Duration.ofSeconds(20));
    hb.onWrite(now()); // data sent: no ping needed for another 30 s
    clock.advance(Duration.ofSeconds(20));
    assertThat(hb.check(now())).isEqualTo(Action.NONE);
    hb.onRead(now());
    clock.advance(Duration.ofSeconds(10));
    assertThat(hb.check(now())).isEqualTo(Action.PING);
    hb.onWrite(now());
    clock.advance(Duration.ofSeconds(79)); // 89 s after the last read
    assertThat(hb.check(now())).isEqualTo(Action.PING);
    clock.advance(Duration.ofSeconds(1));
    assertThat(hb.check(now())).isEqualTo(Action.DEAD);
  }

  @Test
  void withAPongTimeoutAPingAfterSilenceBothWaysIsAProbeThatMustBeAnswered() {
    Heartbeat a = new Heartbeat(Duration.ofSeconds(30).toNanos(), 3, Duration.ofSeconds(5).toNanos(), now());
    clock.advance(Duration.ofSeconds(30));
    assertThat(a.check(now())).isEqualTo(Action.PROBE);
    a.probeSent(now());
    assertThat(a.nanosUntilNextCheck(now())).isEqualTo(Duration.ofSeconds(5).toNanos());
    clock.advance(Duration.ofSeconds(1));
    assertThat(a.onRead(now())).as("the PONG answers the probe").isTrue();
    assertThat(a.onRead(now())).as("only once").isFalse();
    clock.advance(Duration.ofSeconds(29));
    assertThat(a.check(now())).isEqualTo(Action.PROBE);
    a.probeSent(now());
    clock.advance(Duration.ofMillis(4_999));
    assertThat(a.check(now())).isEqualTo(Action.NONE);
    clock.advance(Duration.ofMillis(1));
    assertThat(a.check(now())).isEqualTo(Action.PROBE_UNANSWERED);
  }

  @Test
  void aPingAfterRecentReadsIsNoProbeAndNothingIsAProbeWhileNotProbing() {
    Heartbeat a = new Heartbeat(Duration.ofSeconds(30).toNanos(), 3, Duration.ofSeconds(5).toNanos(), now());
    clock.advance(Duration.ofSeconds(20));
    a.onRead(now()); // the server sent something: the NAT saw traffic 10 s before the PING
    clock.advance(Duration.ofSeconds(10));
    assertThat(a.check(now())).isEqualTo(Action.PING);
    a.onWrite(now());
    a.probing(false); // foreground
    clock.advance(Duration.ofSeconds(30));
    assertThat(a.check(now())).isEqualTo(Action.PING);
    a.interval(Duration.ofSeconds(60).toNanos());
    a.onWrite(now());
    a.probing(true);
    clock.advance(Duration.ofSeconds(59));
    assertThat(a.check(now())).isEqualTo(Action.NONE);
    clock.advance(Duration.ofSeconds(1));
    assertThat(a.check(now())).isEqualTo(Action.PROBE);
  }

  @Test
  void nextCheckIsNeverBelowAMillisecond() {
    clock.advance(Duration.ofHours(1));
    assertThat(hb.nanosUntilNextCheck(now())).isEqualTo(1_000_000L);
  }

  @Test
  void clientLifecycleRefusesIllegalMoves() {
    assertThat(ClientState.DISCONNECTED.canMoveTo(ClientState.CONNECTED)).isFalse();
    assertThat(ClientState.CONNECTING.canMoveTo(ClientState.HANDSHAKING)).isTrue();
    assertThat(ClientState.CONNECTED.canMoveTo(ClientState.HANDSHAKING)).isFalse();
    assertThat(ClientState.CONNECTED.canMoveTo(ClientState.RECONNECTING)).isTrue();
    assertThat(ClientState.RECONNECTING.canMoveTo(ClientState.CONNECTING)).isTrue();
    assertThat(ClientState.RECONNECTING.canMoveTo(ClientState.CONNECTED)).isFalse();
    assertThat(ClientState.DISCONNECTED.canMoveTo(ClientState.RECONNECTING)).isFalse();
    for (ClientState s : ClientState.values()) {
      assertThat(ClientState.CLOSED.canMoveTo(s)).isFalse();
      assertThat(s == ClientState.CLOSED || s.canMoveTo(ClientState.CLOSED)).isTrue();
    }
  }
}
