package io.longlink.protocol.testing;

import io.longlink.protocol.Ticker;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock tests move by hand. Starts at a random origin, sometimes near {@code Long.MAX_VALUE},
 * so code that compares readings directly instead of by subtraction fails.
 */
public final class FakeTicker implements Ticker {
  private final AtomicLong nanos;

  public FakeTicker() {
    long origin = ThreadLocalRandom.current().nextBoolean()
        ? Long.MAX_VALUE - Duration.ofMinutes(1).toNanos()
        : ThreadLocalRandom.current().nextLong();
    nanos = new AtomicLong(origin);
  }

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  public FakeTicker advance(Duration d) {
    nanos.addAndGet(d.toNanos());
    return this;
  }
}
