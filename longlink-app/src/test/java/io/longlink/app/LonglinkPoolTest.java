package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.longlink.chaos.ChaosProxy;
import io.longlink.client.ConnectionLostException;
import io.longlink.client.LonglinkClient;
import io.longlink.client.RequestTimeoutException;
import io.longlink.client.pool.AcquireTimeoutException;
import io.longlink.client.pool.LonglinkPool;
import io.longlink.client.pool.ObjectPool;
import io.longlink.client.pool.PoolConfig;
import io.longlink.client.pool.PoolExhaustedException;
import io.longlink.client.pool.PoolResourceException;
import io.longlink.client.pool.PoolStats;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAccumulator;
import org.junit.jupiter.api.Test;

/** The connection pool against a real gateway: contention, and a gateway behind a proxy that resets connections. */
class LonglinkPoolTest {

  static LonglinkPool pool(InetSocketAddress gateway, PoolConfig config) {
    return LonglinkPool.builder(() -> LonglinkClient.builder().endpoint(gateway)).name("test").config(config).build();
  }

  @Test
  void aThousandVirtualThreadsOnTenConnections() throws Exception {
    int threads = 1_000;
    Duration acquireTimeout = Duration.ofMillis(150);
    // The carrier threads exist before we count threads: 100 virtual threads blocked together need them.
    java.util.concurrent.CountDownLatch together = new java.util.concurrent.CountDownLatch(100);
    try (ExecutorService warmUp = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 100; i++) {
        warmUp.submit(() -> {
          together.countDown();
          together.await();
          return null;
        });
      }
    }
    java.util.Set<String> threadsBefore = threadNames();
    try (LonglinkServer server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).build().start();
        LonglinkPool pool = pool(server.localAddress(), PoolConfig.builder().maxOpen(10).maxWaiters(200)
            .acquireTimeout(acquireTimeout).build())) {
      LongAccumulator serverPeak = new LongAccumulator(Math::max, 0);
      LongAccumulator poolPeak = new LongAccumulator(Math::max, 0);
      AtomicBoolean running = new AtomicBoolean(true);
      Thread sampler = Thread.ofPlatform().daemon().start(() -> {
        while (running.get()) {
          serverPeak.accumulate(server.stats().connections());
          poolPeak.accumulate(pool.stats().open());
          Thread.onSpinWait();
        }
      });
      AtomicInteger ok = new AtomicInteger();
      AtomicInteger exhausted = new AtomicInteger();
      List<Double> exhaustedMs = new java.util.concurrent.CopyOnWriteArrayList<>();
      List<Double> timeoutMs = new java.util.concurrent.CopyOnWriteArrayList<>();
      AtomicInteger finished = new AtomicInteger();
      try (ExecutorService vts = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < threads; i++) {
          vts.submit(() -> {
            long t0 = System.nanoTime();
            try (ObjectPool.Lease<LonglinkClient> c = pool.acquire()) {
              assertThat(c.get().state()).isEqualTo(io.longlink.client.ClientState.CONNECTED);
              io.longlink.testing.SimulatedWork.takesMillis(ThreadLocalRandom.current().nextInt(1, 20)); // the hold
              ok.incrementAndGet();
            } catch (PoolExhaustedException e) {
              exhausted.incrementAndGet();
              exhaustedMs.add((System.nanoTime() - t0) / 1e6);
            } catch (AcquireTimeoutException e) {
              timeoutMs.add((System.nanoTime() - t0) / 1e6);
            } finally {
              finished.incrementAndGet();
            }
            return null;
          });
        }
      } // waits for every virtual thread
      running.set(false);
      sampler.join();
      PoolStats stats = pool.stats();
      exhaustedMs.sort(null);
      timeoutMs.sort(null);
      System.out.println(String.format("pool: %d virtual threads on maxOpen 10: %d got a connection, %d refused at once "
              + "(p99 %.1f ms), %d timed out after %.0f..%.0f ms (timeout %d ms); peak open %d (gateway saw %d); "
              + "acquire p50 %s p99 %s", threads, ok.get(), exhausted.get(), pct(exhaustedMs, 0.99), timeoutMs.size(),
          pct(timeoutMs, 0), pct(timeoutMs, 1), acquireTimeout.toMillis(), poolPeak.get(), serverPeak.get(),
          stats.acquireP50(), stats.acquireP99()));
      assertThat(finished).hasValue(threads);
      assertThat(ok.get() + exhausted.get() + timeoutMs.size()).isEqualTo(threads);
      assertThat(serverPeak.get()).as("connections the gateway ever saw at once").isLessThanOrEqualTo(10);
      assertThat(poolPeak.get()).isLessThanOrEqualTo(10);
      assertThat(exhausted.get()).as("the full wait queue refused some").isPositive();
      assertThat(pct(exhaustedMs, 0.99)).as("refusals come before any timeout could").isLessThan(acquireTimeout.toMillis());
      assertThat(timeoutMs).as("some waited out their timeout").isNotEmpty();
      assertThat(timeoutMs.get(0)).isGreaterThanOrEqualTo(acquireTimeout.toMillis());
      assertThat(timeoutMs.get(timeoutMs.size() - 1)).isLessThan(acquireTimeout.toMillis() + 250.0);
      assertThat(stats.borrowed()).isZero();
      assertThat(stats.waiters()).isZero();
      assertThat(stats.idle()).isEqualTo(stats.open());
      assertThat(stats.timeouts()).isEqualTo(timeoutMs.size());
      assertThat(stats.rejected()).isEqualTo(exhausted.get());
    }
    // Threads end a moment after their executors report termination: wait for them, boundedly.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      java.util.Set<String> after = threadNames();
      after.removeAll(threadsBefore);
      assertThat(after).as("no thread left behind once pool and gateway are closed").isEmpty();
    });
  }

  private static java.util.Set<String> threadNames() {
    java.util.Set<String> names = new java.util.TreeSet<>();
    Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
        .filter(n -> !n.startsWith("awaitility")) // the test's own polling thread
        .forEach(names::add);
    return names;
  }

  private static double pct(List<Double> sorted, double q) {
    return sorted.isEmpty() ? 0 : sorted.get((int) Math.min(sorted.size() - 1, Math.floor(sorted.size() * q)));
  }

  @Test
  void behindAProxyThatResetsConnectionsNoRequestOutlivesItsDeadline() throws Exception {
    Duration deadline = Duration.ofMillis(500);
    try (LonglinkServer server = LonglinkServer.builder().config(ServerConfig.builder().port(0).build())
            .requestHandler(r -> {
              io.longlink.testing.SimulatedWork.takesMillis(ThreadLocalRandom.current().nextInt(0, 5));
              return r.payload();
            }).build().start();
        ChaosProxy proxy = ChaosProxy.builder("gw").listen(new InetSocketAddress("127.0.0.1", 0))
            .upstream(server.localAddress()).build().start();
        LonglinkPool pool = pool(proxy.address(), PoolConfig.builder().maxOpen(8).maxWaiters(1_000)
            .acquireTimeout(Duration.ofSeconds(1)).validationThreshold(Duration.ofMillis(50)).build())) {
      AtomicBoolean chaos = new AtomicBoolean(true);
      AtomicInteger resets = new AtomicInteger();
      // RST on every connection through the proxy, at random intervals of 30-120 ms, until the run ends.
      java.util.concurrent.ScheduledExecutorService resetter = Executors.newSingleThreadScheduledExecutor();
      Runnable[] reset = new Runnable[1];
      reset[0] = () -> {
        if (chaos.get()) {
          proxy.resetAll();
          resets.incrementAndGet();
          resetter.schedule(reset[0], ThreadLocalRandom.current().nextInt(30, 120), TimeUnit.MILLISECONDS);
        }
      };
      resetter.schedule(reset[0], ThreadLocalRandom.current().nextInt(30, 120), TimeUnit.MILLISECONDS);
      ConcurrentHashMap<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
      LongAccumulator worstOverrunMs = new LongAccumulator(Math::max, Long.MIN_VALUE);
      List<java.util.concurrent.Future<?>> tasks = new ArrayList<>();
      try (ExecutorService vts = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int t = 0; t < 32; t++) {
          tasks.add(vts.submit(() -> {
            for (int i = 0; i < 60; i++) {
              byte[] q = {(byte) i};
              long t0 = System.nanoTime();
              CompletableFuture<byte[]> f = pool.request(q, deadline);
              String outcome;
              try {
                byte[] a = f.get(deadline.toMillis() + 2_000, TimeUnit.MILLISECONDS); // a hang would fail here
                assertThat(a).containsExactly(q);
                outcome = "ok";
              } catch (java.util.concurrent.ExecutionException e) {
                Throwable c = e.getCause();
                assertThat(c).isInstanceOfAny(ConnectionLostException.class, RequestTimeoutException.class,
                    AcquireTimeoutException.class, PoolResourceException.class, IllegalStateException.class);
                outcome = c.getClass().getSimpleName();
              }
              worstOverrunMs.accumulate((System.nanoTime() - t0) / 1_000_000 - deadline.toMillis());
              outcomes.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
            }
            return null;
          }));
        }
      }
      for (java.util.concurrent.Future<?> task : tasks) {
        task.get(); // a failed assertion inside a task fails the test
      }
      chaos.set(false);
      resetter.shutdown();
      assertThat(resetter.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
      PoolStats stats = pool.stats();
      System.out.println(String.format("pool-chaos: 1920 requests (deadline %d ms) while the proxy reset all "
              + "connections %d times: %s; worst finish relative to the deadline %+d ms; connections created %d, "
              + "destroyed %d", deadline.toMillis(), resets.get(), outcomes, worstOverrunMs.get(), stats.created(),
          stats.destroyed()));
      assertThat(outcomes.get("ok")).isNotNull();
      assertThat(worstOverrunMs.get()).as("no request outlived its deadline by more than scheduling noise")
          .isLessThan(250);
      assertThat(stats.created()).as("broken connections were replaced").isGreaterThan(8);
      assertThat(stats.borrowed()).isZero();
      // After the chaos: idle connections the last reset killed are evicted as they are found (one may
      // be handed out in the instant before its reset is noticed: "not sent", safe to retry).
      byte[] answer = null;
      for (int attempt = 0; attempt < 9 && answer == null; attempt++) {
        try {
          answer = pool.request(new byte[] {42}, Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          assertThat(e.getCause()).isInstanceOf(IllegalStateException.class).hasMessageContaining("DISCONNECTED");
        }
      }
      assertThat(answer).containsExactly(42);
    }
  }
}
