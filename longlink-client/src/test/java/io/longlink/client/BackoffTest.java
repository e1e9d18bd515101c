package io.longlink.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {
  static final long SECOND = Duration.ofSeconds(1).toNanos();
  final Backoff backoff = new Backoff(SECOND, 60 * SECOND);

  @Test
  void ceilingDoublesUpToTheCap() {
    assertThat(backoff.ceilingNanos(0)).isEqualTo(SECOND);
    assertThat(backoff.ceilingNanos(1)).isEqualTo(2 * SECOND);
    assertThat(backoff.ceilingNanos(5)).isEqualTo(32 * SECOND);
    assertThat(backoff.ceilingNanos(6)).isEqualTo(60 * SECOND);
    assertThat(backoff.ceilingNanos(1000)).isEqualTo(60 * SECOND); // no overflow
  }

  @Test
  void delaysStayWithinZeroAndTheCeiling() {
    Random r = new Random(42);
    for (int attempt = 0; attempt < 100; attempt++) {
      for (int i = 0; i < 100; i++) {
        assertThat(backoff.delayNanos(attempt, r)).isBetween(0L, backoff.ceilingNanos(attempt));
      }
    }
  }

  /** Full jitter spreads clients over the whole window: every tenth of it gets some. */
  @Test
  void jitterSpreadsUniformly() {
    Random r = new Random(7);
    int[] buckets = new int[10];
    int n = 10_000;
    for (int i = 0; i < n; i++) {
      buckets[(int) (backoff.delayNanos(3, r) * 10 / (backoff.ceilingNanos(3) + 1))]++;
    }
    for (int b : buckets) {
      assertThat(b).isBetween(n / 10 - n / 25, n / 10 + n / 25);
    }
  }

  @Test
  void rejectsNonsense() {
    assertThatThrownBy(() -> new Backoff(0, 1)).hasMessageContaining("expected: 0 < initial <= max");
    assertThatThrownBy(() -> new Backoff(2, 1)).hasMessageContaining("expected: 0 < initial <= max");
  }
}
