package io.longlink.client.metrics;

import io.longlink.client.pool.LonglinkPool;
import io.longlink.client.pool.PoolStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.function.ToDoubleFunction;

/**
 * A connection pool's numbers in the application's Micrometer registry, tagged {@code pool=<name>}:
 * {@code longlink_pool_connections{state=open|idle|borrowed}}, {@code longlink_pool_waiters},
 * {@code longlink_pool_acquire_seconds{quantile=0.5|0.99|1}}, and the counters
 * {@code longlink_pool_acquires_total}, {@code _timeouts_total}, {@code _rejected_total},
 * {@code _leaks_total}, {@code _created_total}, {@code _destroyed_total}.
 */
public final class LonglinkPoolMetrics implements MeterBinder {
  private final LonglinkPool pool;
  private final String name;

  public LonglinkPoolMetrics(LonglinkPool pool, String name) {
    this.pool = pool;
    this.name = name;
  }

  @Override
  public void bindTo(MeterRegistry r) {
    gauge(r, "longlink.pool.connections", "state", "open", PoolStats::open);
    gauge(r, "longlink.pool.connections", "state", "idle", PoolStats::idle);
    gauge(r, "longlink.pool.connections", "state", "borrowed", PoolStats::borrowed);
    gauge(r, "longlink.pool.waiters", null, null, PoolStats::waiters);
    gauge(r, "longlink.pool.acquire.seconds", "quantile", "0.5", s -> s.acquireP50().toNanos() / 1e9);
    gauge(r, "longlink.pool.acquire.seconds", "quantile", "0.99", s -> s.acquireP99().toNanos() / 1e9);
    gauge(r, "longlink.pool.acquire.seconds", "quantile", "1", s -> s.acquireMax().toNanos() / 1e9);
    counter(r, "longlink.pool.acquires", PoolStats::acquired);
    counter(r, "longlink.pool.timeouts", PoolStats::timeouts);
    counter(r, "longlink.pool.rejected", PoolStats::rejected);
    counter(r, "longlink.pool.leaks", PoolStats::leaks);
    counter(r, "longlink.pool.created", PoolStats::created);
    counter(r, "longlink.pool.destroyed", PoolStats::destroyed);
  }

  private void gauge(MeterRegistry r, String meter, String tag, String value, ToDoubleFunction<PoolStats> f) {
    Gauge.Builder<LonglinkPool> b = Gauge.builder(meter, pool, p -> f.applyAsDouble(p.stats())).tag("pool", name);
    if (tag != null) {
      b = b.tag(tag, value);
    }
    b.register(r);
  }

  private void counter(MeterRegistry r, String meter, ToDoubleFunction<PoolStats> f) {
    FunctionCounter.builder(meter, pool, p -> f.applyAsDouble(p.stats())).tag("pool", name).register(r);
  }
}
