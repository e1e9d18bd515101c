package io.longlink.app;

import static org.awaitility.Awaitility.await;

import io.longlink.chaos.ChaosProxy;
import io.longlink.chaos.Toxic;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One random fault at a time through a chaos proxy, counted: a reset of every connection (RST,
 * half of them), a close after a random number of bytes (so mostly in the middle of a frame), or a
 * blackhole of both directions that only a heartbeat can detect.
 */
public final class RandomFaults {
  /** Faults made so far, of every kind. */
  public final AtomicInteger cuts = new AtomicInteger();
  public final AtomicInteger midFrameCuts = new AtomicInteger();
  public final AtomicInteger blackholes = new AtomicInteger();
  private final long blackholeMinMs;
  private final long blackholeMaxMs;

  /** @param blackholeMinMs, blackholeMaxMs how long a blackhole lasts: uniform in [min, max) */
  public RandomFaults(long blackholeMinMs, long blackholeMaxMs) {
    this.blackholeMinMs = blackholeMinMs;
    this.blackholeMaxMs = blackholeMaxMs;
  }

  /** Makes one fault on {@code proxy}'s connections; returns after a blackhole ended. */
  public void injectOne(ChaosProxy proxy) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    int pick = r.nextInt(10);
    if (pick < 5) {
      proxy.resetAll();
    } else if (pick < 9) {
      String name = "cut" + cuts.get();
      proxy.addToxic(Toxic.limitData(name, r.nextBoolean() ? Toxic.Stream.UPSTREAM : Toxic.Stream.DOWNSTREAM,
          r.nextLong(1, 4000)));
      proxy.removeToxic(name); // it stays on the connections that drew it; new ones are clean
      midFrameCuts.incrementAndGet();
    } else {
      proxy.addToxic(Toxic.blackhole("hole-up", Toxic.Stream.UPSTREAM));
      proxy.addToxic(Toxic.blackhole("hole-down", Toxic.Stream.DOWNSTREAM));
      blackholes.incrementAndGet();
      long ms = r.nextLong(blackholeMinMs, blackholeMaxMs);
      try {
        await().pollDelay(Duration.ofMillis(ms)).atMost(Duration.ofMillis(ms + 5000)).until(() -> true);
      } finally { // an interrupted wait (an executor shut down mid-fault) must not leave the path dead for good
        proxy.removeToxic("hole-up");
        proxy.removeToxic("hole-down");
      }
    }
    cuts.incrementAndGet();
  }

  /** Resets, as opposed to mid-frame closes and blackholes. */
  public int resets() {
    return cuts.get() - midFrameCuts.get() - blackholes.get();
  }
}
