package io.longlink.testing;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Work a test stands in for (a handler computing, a caller holding a pooled connection): it takes
 * the given time and, like real blocking work, ends early with {@link InterruptedException} when
 * the thread is interrupted. Not a way to wait for something: tests synchronise with latches and
 * Awaitility.
 */
public final class SimulatedWork {
  /** Never released: waiting on it is pure elapsed time. */
  private static final CountDownLatch NEVER = new CountDownLatch(1);

  private SimulatedWork() {}

  public static void takes(Duration d) throws InterruptedException {
    NEVER.await(d.toNanos(), TimeUnit.NANOSECONDS);
  }

  public static void takesMillis(long millis) throws InterruptedException {
    NEVER.await(millis, TimeUnit.MILLISECONDS);
  }
}
