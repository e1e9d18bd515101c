package io.longlink.client;

import java.util.Random;

/**
 * Reconnect delays: exponential (multiplier 2) from an initial delay up to a cap, with full jitter
 * (uniform in [0, ceiling]) so that clients cut off together do not come back together. Pure:
 * randomness is passed in.
 */
final class Backoff {
  private final long initialNanos;
  private final long maxNanos;

  Backoff(long initialNanos, long maxNanos) {
    if (initialNanos <= 0 || maxNanos < initialNanos) {
      throw new IllegalArgumentException("backoff: initial " + initialNanos + " ns, max " + maxNanos
          + " ns (expected: 0 < initial <= max)");
    }
    this.initialNanos = initialNanos;
    this.maxNanos = maxNanos;
  }

  /** The ceiling for retry number {@code attempt} (0-based): min(max, initial × 2^attempt). */
  long ceilingNanos(int attempt) {
    if (attempt >= 62 || initialNanos > (maxNanos >> Math.min(attempt, 62))) {
      return maxNanos;
    }
    return Math.min(maxNanos, initialNanos << attempt);
  }

  /** A delay for retry number {@code attempt}: uniform in [0, ceiling]. */
  long delayNanos(int attempt, Random random) {
    return (long) (random.nextDouble() * ceilingNanos(attempt));
  }

  long initialNanos() {
    return initialNanos;
  }

  long maxNanos() {
    return maxNanos;
  }
}
