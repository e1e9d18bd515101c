package io.longlink.client.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.longlink.protocol.Ticker;
import io.longlink.protocol.testing.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The pool's rules on a fake clock and plain objects; {@code LonglinkPoolTest} has them on real connections. */
class ObjectPoolTest {
  final AtomicInteger made = new AtomicInteger();
  /** Object number -> ticker time (ns) it was destroyed at. */
  final Map<Integer, Long> destroyedAt = new ConcurrentHashMap<>();

  PoolResource<Integer> counting(Ticker ticker) {
    return new PoolResource<>() {
      @Override
      public Integer create() {
        return made.incrementAndGet();
      }

      @Override
      public void destroy(Integer object) {
        destroyedAt.put(object, ticker.nanoTime());
      }
    };
  }

  @Test
  void lifetimesAreJitteredWithinTheirWindowAndNeverEndWhileBorrowed() throws Exception {
    FakeTicker clock = new FakeTicker();
    PoolConfig config = PoolConfig.builder().maxOpen(20).idleTimeout(Duration.ZERO).maxLifetime(Duration.ofSeconds(100))
        .lifetimeJitter(Duration.ofSeconds(20)).validationThreshold(Duration.ofDays(1)).build();
    long origin = clock.nanoTime();
    try (ObjectPool<Integer> pool = new ObjectPool<>("t", config, counting(clock), clock, false)) {
      List<ObjectPool.Lease<Integer>> leases = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        leases.add(pool.acquire());
      }
      ObjectPool.Lease<Integer> kept = leases.remove(0); // borrowed through its whole life and beyond
      leases.forEach(ObjectPool.Lease::close);
      for (int s = 1; s <= 130; s++) {
        clock.advance(Duration.ofSeconds(1));
        pool.housekeep();
      }
      assertThat(destroyedAt).hasSize(19).doesNotContainKey(kept.get());
      for (long at : destroyedAt.values()) {
        assertThat(at - origin).isBetween(TimeUnit.SECONDS.toNanos(80), TimeUnit.SECONDS.toNanos(100));
      }
      assertThat(destroyedAt.values().stream().distinct().count()).as("spread, not all at once").isGreaterThan(5);
      int id = kept.get();
      kept.close(); // past its lifetime: retired on return
      assertThat(destroyedAt.get(id) - origin).isEqualTo(TimeUnit.SECONDS.toNanos(130));
      assertThat(pool.stats().open()).isZero();
    }
  }

  @Test
  void aBorrowHeldTooLongIsReportedWithTheBorrowersStack() throws Exception {
    FakeTicker clock = new FakeTicker();
    Logger logger = (Logger) LoggerFactory.getLogger(ObjectPool.class);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
    PoolConfig config = PoolConfig.builder().leakDetectionThreshold(Duration.ofSeconds(2)).build();
    try (ObjectPool<Integer> pool = new ObjectPool<>("leaky", config, counting(clock), clock, false)) {
      ObjectPool.Lease<Integer> leaked = borrowAndForget(pool);
      clock.advance(Duration.ofSeconds(1));
      pool.housekeep();
      assertThat(logs.list).isEmpty();
      clock.advance(Duration.ofSeconds(2));
      pool.housekeep();
      pool.housekeep(); // reported once
      assertThat(logs.list).hasSize(1);
      ILoggingEvent warning = logs.list.get(0);
      assertThat(warning.getFormattedMessage()).contains("borrowed for 3000 ms").contains("threshold 2000 ms");
      assertThat(warning.getThrowableProxy().getStackTraceElementProxyArray())
          .anySatisfy(frame -> assertThat(frame.getSTEAsString()).contains("borrowAndForget"));
      assertThat(pool.stats().leaks()).isEqualTo(1);
      leaked.close();
    } finally {
      logger.detachAppender(logs);
    }
  }

  private static Thread startThread(Runnable r) {
    Thread t = new Thread(r);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static ObjectPool.Lease<Integer> borrowAndForget(ObjectPool<Integer> pool) throws Exception {
    return pool.acquire();
  }

  @Test
  void waitersAreServedInOrderAFullQueueFailsFastAndATimeoutComesAtTheDeadline() throws Exception {
    PoolConfig config = PoolConfig.builder().maxOpen(1).maxWaiters(3).acquireTimeout(Duration.ofSeconds(10)).build();
    try (ObjectPool<Integer> pool = new ObjectPool<>("fifo", config, counting(Ticker.system()), Ticker.system(), true)) {
      ObjectPool.Lease<Integer> held = pool.acquire();
      List<String> order = new CopyOnWriteArrayList<>();
      List<Thread> threads = new ArrayList<>();
      for (String who : List.of("a", "b", "c")) {
        int queued = threads.size() + 1;
        Thread t = startThread(() -> {
          try (ObjectPool.Lease<Integer> l = pool.acquire()) {
            order.add(who);
          } catch (Exception e) {
            order.add(who + " failed: " + e);
          }
        });
        threads.add(t);
        await().until(() -> pool.stats().waiters() == queued); // queue them in a known order
      }
      long t0 = System.nanoTime();
      assertThatThrownBy(pool::acquire).isInstanceOf(PoolExhaustedException.class).hasMessageContaining("3 callers waiting");
      assertThat((System.nanoTime() - t0) / 1e6).as("failed fast").isLessThan(100);
      held.close();
      for (Thread t : threads) {
        t.join(5_000);
      }
      assertThat(order).containsExactly("a", "b", "c");

      ObjectPool.Lease<Integer> again = pool.acquire();
      long t1 = System.nanoTime();
      assertThatThrownBy(() -> pool.acquire(Duration.ofMillis(250))).isInstanceOf(AcquireTimeoutException.class);
      assertThat((System.nanoTime() - t1) / 1e6).as("timed out at its deadline").isBetween(250.0, 250.0 + 150);
      again.close();
      PoolStats stats = pool.stats();
      assertThat(stats.timeouts()).isEqualTo(1);
      assertThat(stats.rejected()).isEqualTo(1);
      assertThat(stats.borrowed()).isZero();
      assertThat(stats.waiters()).isZero();
      assertThat(stats.created()).isEqualTo(1);
    }
  }

  @Test
  void unfairModeKeepsTheBoundsQueueLimitAndTimeouts() throws Exception {
    PoolConfig config = PoolConfig.builder().maxOpen(2).maxWaiters(20).fair(false)
        .acquireTimeout(Duration.ofMillis(200)).build();
    AtomicInteger inUse = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
    try (ObjectPool<Integer> pool = new ObjectPool<>("unfair", config, counting(Ticker.system()), Ticker.system(), true)) {
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        threads.add(startThread(() -> {
          for (int round = 0; round < 20; round++) {
            String outcome;
            try (ObjectPool.Lease<Integer> l = pool.acquire()) {
              peak.accumulateAndGet(inUse.incrementAndGet(), Math::max);
              io.longlink.testing.SimulatedWork.takesMillis(1); // the hold
              inUse.decrementAndGet();
              outcome = "ok";
            } catch (Exception e) {
              outcome = e.getClass().getSimpleName();
            }
            outcomes.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
          }
        }));
      }
      for (Thread t : threads) {
        t.join(30_000);
        assertThat(t.isAlive()).isFalse();
      }
      assertThat(peak.get()).isLessThanOrEqualTo(2);
      assertThat(outcomes.keySet()).containsAnyOf("ok").isSubsetOf("ok", "PoolExhaustedException", "AcquireTimeoutException");
      assertThat(outcomes.values().stream().mapToInt(AtomicInteger::get).sum()).isEqualTo(1_000);
      PoolStats stats = pool.stats();
      assertThat(stats.created()).isEqualTo(2);
      assertThat(stats.borrowed()).isZero();
      assertThat(stats.waiters()).isZero();
    }
  }

  @Test
  void anObjectIdleBeyondTheThresholdIsValidatedAndReplacedWhenItFails() throws Exception {
    FakeTicker clock = new FakeTicker();
    java.util.Set<Integer> dead = ConcurrentHashMap.newKeySet();
    AtomicInteger validations = new AtomicInteger();
    PoolResource<Integer> resource = new PoolResource<>() {
      @Override
      public Integer create() {
        return made.incrementAndGet();
      }

      @Override
      public boolean validate(Integer object, Duration timeout) {
        validations.incrementAndGet();
        return !dead.contains(object);
      }

      @Override
      public void destroy(Integer object) {
        destroyedAt.put(object, clock.nanoTime());
      }
    };
    PoolConfig config = PoolConfig.builder().validationThreshold(Duration.ofSeconds(5)).build();
    try (ObjectPool<Integer> pool = new ObjectPool<>("validating", config, resource, clock, false)) {
      pool.acquire().close(); // object 1, now idle
      clock.advance(Duration.ofSeconds(1));
      try (ObjectPool.Lease<Integer> l = pool.acquire()) {
        assertThat(l.get()).isEqualTo(1);
      }
      assertThat(validations).as("idle 1 s: below the threshold, not checked").hasValue(0);
      dead.add(1); // e.g. its peer went away silently
      clock.advance(Duration.ofSeconds(6));
      try (ObjectPool.Lease<Integer> l = pool.acquire()) {
        assertThat(l.get()).as("the dead one was checked, closed and replaced").isEqualTo(2);
      }
      assertThat(validations).hasValue(1);
      assertThat(destroyedAt).containsOnlyKeys(1);
    }
  }

  @Test
  void idleObjectsTimeOutDownToMinIdleWhichIsKeptFilled() throws Exception {
    FakeTicker clock = new FakeTicker();
    PoolConfig config = PoolConfig.builder().maxOpen(6).minIdle(2).idleTimeout(Duration.ofSeconds(10))
        .maxLifetime(Duration.ZERO).build();
    try (ObjectPool<Integer> pool = new ObjectPool<>("idle", config, counting(clock), clock, false)) {
      pool.housekeep();
      assertThat(pool.stats().idle()).as("filled to minIdle").isEqualTo(2);
      List<ObjectPool.Lease<Integer>> leases = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        leases.add(pool.acquire());
      }
      leases.forEach(ObjectPool.Lease::close);
      assertThat(pool.stats().idle()).isEqualTo(6);
      clock.advance(Duration.ofSeconds(11));
      pool.housekeep();
      assertThat(pool.stats().idle()).isEqualTo(2);
      assertThat(pool.stats().open()).isEqualTo(2);
    }
  }

  @Test
  void closeWaitsForBorrowedObjectsThenDestroysEverything() throws Exception {
    PoolConfig config = PoolConfig.builder().closeTimeout(Duration.ofSeconds(5)).build();
    ObjectPool<Integer> pool = new ObjectPool<>("closing", config, counting(Ticker.system()), Ticker.system(), true);
    ObjectPool.Lease<Integer> out = pool.acquire();
    pool.acquire().close();
    Thread giveBack = startThread(() -> {
      await().until(() -> destroyedAt.size() == 1); // the idle one goes first
      out.close();
    });
    pool.close();
    giveBack.join(5_000);
    assertThat(destroyedAt).hasSize(2);
    assertThatThrownBy(pool::acquire).isInstanceOf(PoolClosedException.class);
  }

  @Test
  void badSettingsAreNamed() {
    assertThatThrownBy(() -> PoolConfig.builder().maxOpen(0).build()).hasMessage("maxOpen: 0 (expected: >= 1)");
    assertThatThrownBy(() -> PoolConfig.builder().maxOpen(5).maxIdle(6).build())
        .hasMessage("maxIdle: 6 (expected: 0..maxOpen (5))");
    assertThatThrownBy(() -> PoolConfig.builder().maxLifetime(Duration.ofSeconds(10)).lifetimeJitter(Duration.ofSeconds(10))
        .build()).hasMessage("lifetimeJitter: PT10S (expected: < maxLifetime (PT10S))");
  }
}
