package io.longlink.server.internal;

/**
 * A token bucket: {@code ratePerSecond} tokens a second, holding at most {@code burst}; starts full.
 * Time comes from the caller (the gateway's ticker), so tests need not wait. Not thread-safe: the
 * owner guards it.
 */
final class TokenBucket {
  private final double ratePerSecond;
  private final double burst;
  private double tokens;
  private long refilledAtNanos;

  TokenBucket(double ratePerSecond, double burst, long nowNanos) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.tokens = burst;
    this.refilledAtNanos = nowNanos;
  }

  /** Takes one token if there is one. */
  boolean tryTake(long nowNanos) {
    refill(nowNanos);
    if (tokens < 1) {
      return false;
    }
    tokens -= 1;
    return true;
  }

  /** True once the bucket has refilled completely: it remembers nothing any more. */
  boolean isFull(long nowNanos) {
    refill(nowNanos);
    return tokens >= burst;
  }

  private void refill(long nowNanos) {
    long elapsed = nowNanos - refilledAtNanos;
    if (elapsed > 0) {
      tokens = Math.min(burst, tokens + elapsed / 1e9 * ratePerSecond);
      refilledAtNanos = nowNanos;
    }
  }
}
