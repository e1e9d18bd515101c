package io.longlink.bench.jmh;

import io.longlink.client.pool.ObjectPool;
import io.longlink.client.pool.PoolConfig;
import io.longlink.client.pool.PoolResource;
import io.longlink.protocol.Ticker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.commons.pool2.BasePooledObjectFactory;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Acquire + release of a pooled object under contention: longlink's {@link ObjectPool} (under
 * {@code LonglinkPool}) against Apache Commons Pool 2's {@link GenericObjectPool}, same pool size,
 * same trivial objects, same run. Thread count comes from the command line ({@code -t 1/8/64});
 * see bench/jmh-pool.sh.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--sun-misc-unsafe-memory-access=allow", "-Xmx512m"})
public class PoolContentionBenchmark {
  @Param({"longlink", "commons-pool2"})
  public String pool;

  /** First come, first served (both pools' {@code fair}/{@code fairness} setting). */
  @Param({"true", "false"})
  public boolean fair;

  /** Objects in the pool: fewer than threads at 64, so waiters queue. */
  @Param({"8"})
  public int size;

  private ObjectPool<Object> ours;
  private GenericObjectPool<Object> theirs;

  @Setup(Level.Trial)
  public void setUp() {
    if (pool.equals("longlink")) {
      PoolConfig config = PoolConfig.builder().maxOpen(size).maxWaiters(100_000).fair(fair).acquireTimeout(Duration.ofSeconds(30))
          .idleTimeout(Duration.ZERO).maxLifetime(Duration.ZERO).validationThreshold(Duration.ofDays(1)).build();
      ours = new ObjectPool<>("jmh", config, new PoolResource<>() {
        @Override
        public Object create() {
          return new Object();
        }

        @Override
        public void destroy(Object object) {}
      }, Ticker.system(), false);
    } else {
      GenericObjectPoolConfig<Object> config = new GenericObjectPoolConfig<>();
      config.setMaxTotal(size);
      config.setMaxIdle(size);
      config.setBlockWhenExhausted(true);
      config.setMaxWait(Duration.ofSeconds(30));
      config.setJmxEnabled(false);
      config.setFairness(fair);
      theirs = new GenericObjectPool<>(new BasePooledObjectFactory<>() {
        @Override
        public Object create() {
          return new Object();
        }

        @Override
        public PooledObject<Object> wrap(Object o) {
          return new DefaultPooledObject<>(o);
        }
      }, config);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (ours != null) {
      ours.close();
    }
    if (theirs != null) {
      theirs.close();
    }
  }

  @Benchmark
  public void acquireRelease(Blackhole bh) throws Exception {
    if (ours != null) {
      try (ObjectPool.Lease<Object> lease = ours.acquire()) {
        bh.consume(lease.get());
      }
    } else {
      Object o = theirs.borrowObject();
      bh.consume(o);
      theirs.returnObject(o);
    }
  }
}
