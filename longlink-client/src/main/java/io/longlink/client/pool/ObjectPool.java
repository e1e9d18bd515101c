package io.longlink.client.pool;

import io.longlink.protocol.Ticker;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.HdrHistogram.ConcurrentHistogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded pool of objects (the SDK pools {@code LonglinkClient}s with it; see
 * {@link io.longlink.client.pool.LonglinkPool}): at most {@code maxOpen} exist, waiters are served
 * first come first served with a direct hand-off (or, when not {@link PoolConfig#fair()}, compete
 * with new arrivals: faster under heavy oversubscription, no order), the wait queue is bounded, idle
 * objects time out, every object retires within a jittered lifetime but never while borrowed,
 * objects idle for long are validated before use, and a borrow held too long is reported with the
 * borrower's stack.
 *
 * <p>One lock guards the bookkeeping; creating, validating and destroying objects happen outside
 * it. Thread-safe; friendly to virtual threads (no monitor is held while waiting).
 *
 * @param <T> the pooled object
 */
public final class ObjectPool<T> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ObjectPool.class);

  private final String name;
  private final PoolConfig config;
  private final PoolResource<T> resource;
  private final Ticker ticker;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition returned = lock.newCondition();
  /** Non-fair mode: signalled when an object or a slot comes free; waiters then compete for it. */
  private final Condition available = lock.newCondition();
  /** Non-fair mode: callers waiting on {@link #available}. */
  private int competing;
  /** Idle entries, the most recently returned last (handed out first: the others can time out). */
  private final ArrayDeque<Entry<T>> idle = new ArrayDeque<>();
  private final ArrayDeque<CompletableFuture<Entry<T>>> waiters = new ArrayDeque<>();
  private final Set<Entry<T>> borrowed = new HashSet<>();
  /** Idle + borrowed + being created. */
  private int open;
  private boolean closed;
  private final ScheduledExecutorService housekeeper;

  private final LongAdder acquired = new LongAdder();
  private final LongAdder timeouts = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final LongAdder leaks = new LongAdder();
  private final LongAdder created = new LongAdder();
  private final LongAdder destroyed = new LongAdder();
  private final ConcurrentHistogram acquireNanos = new ConcurrentHistogram(3);

  /** Handed to a waiter instead of an object: a slot is free, create one yourself. */
  @SuppressWarnings("rawtypes")
  private static final Entry CREATE = new Entry<>(null, 0, 0);

  /**
   * @param housekeeping run {@link #housekeep()} every {@link PoolConfig#housekeepingPeriod()} on a
   *     daemon thread; {@code false} for tests that call it themselves on a fake ticker
   */
  public ObjectPool(String name, PoolConfig config, PoolResource<T> resource, Ticker ticker, boolean housekeeping) {
    this.name = Objects.requireNonNull(name, "name");
    this.config = Objects.requireNonNull(config, "config");
    this.resource = Objects.requireNonNull(resource, "resource");
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    if (housekeeping) {
      housekeeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "longlink-pool-" + name);
        t.setDaemon(true);
        return t;
      });
      long period = config.housekeepingPeriod().toNanos();
      housekeeper.scheduleWithFixedDelay(this::housekeepQuietly, period, period, TimeUnit.NANOSECONDS);
    } else {
      housekeeper = null;
    }
  }

  /** A borrowed object; {@link #close()} gives it back. Not thread-safe. */
  public static final class Lease<T> implements AutoCloseable {
    private final ObjectPool<T> pool;
    private Entry<T> entry;

    Lease(ObjectPool<T> pool, Entry<T> entry) {
      this.pool = pool;
      this.entry = entry;
    }

    /** The borrowed object. */
    public T get() {
      if (entry == null) {
        throw new IllegalStateException("lease already given back to pool " + pool.name);
      }
      return entry.object;
    }

    /** Gives the object back to the pool. Idempotent. */
    @Override
    public void close() {
      if (entry != null) {
        Entry<T> e = entry;
        entry = null;
        pool.release(e, false);
      }
    }

    /** The object is broken: destroy it instead of giving it back. Idempotent. */
    public void invalidate() {
      if (entry != null) {
        Entry<T> e = entry;
        entry = null;
        pool.release(e, true);
      }
    }
  }

  /** Borrows an object, waiting up to the configured acquire timeout. */
  public Lease<T> acquire() throws AcquireTimeoutException, InterruptedException {
    return acquire(config.acquireTimeout());
  }

  /**
   * Borrows an object, waiting up to {@code timeout} for one.
   *
   * @throws AcquireTimeoutException none became free in time
   * @throws PoolExhaustedException the wait queue is full
   * @throws PoolClosedException the pool is closed
   * @throws PoolResourceException creating an object failed
   */
  @SuppressWarnings("unchecked")
  public Lease<T> acquire(Duration timeout) throws AcquireTimeoutException, InterruptedException {
    long start = ticker.nanoTime();
    long deadline = start + timeout.toNanos();
    while (true) {
      Entry<T> e = null;
      boolean create = false;
      CompletableFuture<Entry<T>> waiter = null;
      List<Entry<T>> discard = new ArrayList<>(0);
      lock.lock();
      try {
        if (closed) {
          throw new PoolClosedException("pool " + name + " is closed");
        }
        long now = ticker.nanoTime();
        while ((e = idle.pollLast()) != null && (retired(e, now) || resource.isBroken(e.object))) {
          open--;
          discard.add(e);
        }
        if (e != null) {
          borrow(e, now);
        } else if (open < config.maxOpen()) {
          open++;
          create = true;
        } else if (waiters.size() + competing >= config.maxWaiters()) {
          rejected.increment();
          throw new PoolExhaustedException("pool " + name + ": all " + config.maxOpen() + " objects in use and "
              + (waiters.size() + competing) + " callers waiting (maxWaiters)");
        } else if (config.fair()) {
          waiter = new CompletableFuture<>();
          waiters.addLast(waiter);
        } else {
          awaitAvailable(deadline, timeout); // then compete again, with whoever else arrived
          continue;
        }
      } finally {
        lock.unlock();
        discard.forEach(this::destroy);
      }
      if (waiter != null) {
        e = await(waiter, deadline, timeout);
        create = e == CREATE;
      }
      if (create) {
        e = createEntry();
        lock.lock();
        try {
          borrow(e, ticker.nanoTime());
        } finally {
          lock.unlock();
        }
      } else if (ticker.nanoTime() - e.lastUsedNanos > config.validationThreshold().toNanos() && !validate(e)) {
        release(e, true);
        continue;
      }
      acquired.increment();
      acquireNanos.recordValue(Math.max(0, ticker.nanoTime() - start));
      return new Lease<>(this, e);
    }
  }

  /** Non-fair mode: waits (lock held) for a signal that something came free, or times out. */
  private void awaitAvailable(long deadline, Duration timeout) throws AcquireTimeoutException, InterruptedException {
    long left = deadline - ticker.nanoTime();
    if (left > 0) {
      competing++;
      try {
        available.awaitNanos(left);
      } finally {
        competing--;
      }
      left = deadline - ticker.nanoTime();
    }
    if (left <= 0) {
      timeouts.increment();
      throw new AcquireTimeoutException("pool " + name + ": no object free within " + timeout.toMillis()
          + " ms (" + config.maxOpen() + " in use, " + competing + " waiting)");
    }
  }

  private Entry<T> await(CompletableFuture<Entry<T>> waiter, long deadline, Duration timeout)
      throws AcquireTimeoutException, InterruptedException {
    try {
      return waiter.get(Math.max(0, deadline - ticker.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException | InterruptedException gaveUp) {
      lock.lock();
      try {
        if (waiters.remove(waiter)) {
          if (gaveUp instanceof InterruptedException) {
            throw (InterruptedException) gaveUp;
          }
          timeouts.increment();
          throw new AcquireTimeoutException("pool " + name + ": no object free within " + timeout.toMillis()
              + " ms (" + config.maxOpen() + " in use, " + waiters.size() + " waiting)");
        }
      } finally {
        lock.unlock();
      }
      if (gaveUp instanceof InterruptedException) {
        Thread.currentThread().interrupt(); // keep the caller's interrupt; the object is theirs to give back
      }
      return waiter.join(); // handed over while we gave up: take it
    } catch (ExecutionException failed) {
      Throwable cause = failed.getCause();
      throw cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
    }
  }

  private Entry<T> createEntry() {
    T object;
    try {
      object = resource.create();
    } catch (Exception | LinkageError failure) {
      lock.lock();
      try {
        open--;
        passSlotToWaiter();
      } finally {
        lock.unlock();
      }
      if (failure instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new PoolResourceException("pool " + name + ": could not create an object: " + failure, failure);
    }
    created.increment();
    long now = ticker.nanoTime();
    long lifetime = config.maxLifetime().toNanos();
    long retireAt = lifetime == 0 ? 0
        : now + lifetime - ThreadLocalRandom.current().nextLong(config.lifetimeJitter().toNanos() + 1);
    return new Entry<>(object, now, retireAt);
  }

  private boolean validate(Entry<T> e) {
    try {
      return resource.validate(e.object, config.validationTimeout());
    } catch (RuntimeException failure) {
      log.debug("pool {}: validation failed", name, failure);
      return false;
    }
  }

  /** Lock held. */
  private void borrow(Entry<T> e, long now) {
    borrowed.add(e);
    e.borrowedAtNanos = now;
    e.leakReported = false;
    e.borrowStack = config.leakDetectionThreshold().isZero() ? null
        : new Throwable("borrowed from pool " + name + " here");
  }

  private void release(Entry<T> e, boolean broken) {
    Entry<T> destroy = null;
    lock.lock();
    try {
      if (!borrowed.remove(e)) {
        return;
      }
      long now = ticker.nanoTime();
      e.lastUsedNanos = now;
      e.borrowStack = null;
      if (closed || broken || retired(e, now) || resource.isBroken(e.object)) {
        open--;
        destroy = e;
        passSlotToWaiter();
        returned.signalAll();
      } else if (!waiters.isEmpty()) {
        borrow(e, now);
        waiters.pollFirst().complete(e); // first come, first served
      } else if (competing > 0) {
        idle.addLast(e);
        available.signal();
      } else if (idle.size() >= config.maxIdle()) {
        open--;
        destroy = e;
      } else {
        idle.addLast(e);
      }
    } finally {
      lock.unlock();
    }
    if (destroy != null) {
      destroy(destroy);
    }
  }

  /** A slot came free: the first waiter may create an object. Lock held. */
  @SuppressWarnings("unchecked")
  private void passSlotToWaiter() {
    if (competing > 0) {
      available.signal();
    }
    if (!closed && !waiters.isEmpty() && open < config.maxOpen()) {
      open++;
      waiters.pollFirst().complete((Entry<T>) CREATE);
    }
  }

  private boolean retired(Entry<T> e, long now) {
    return !config.maxLifetime().isZero() && now - e.retireAtNanos >= 0; // wrap-safe comparison
  }

  private void destroy(Entry<T> e) {
    destroyed.increment();
    try {
      resource.destroy(e.object);
    } catch (RuntimeException failure) {
      log.warn("pool {}: destroying an object failed", name, failure);
    }
  }

  private void housekeepQuietly() {
    try {
      housekeep();
    } catch (RuntimeException e) {
      log.warn("pool {}: housekeeping failed", name, e);
    }
  }

  /**
   * One housekeeping pass, which the pool also runs every housekeeping period by itself: retires
   * idle objects past their lifetime or idle timeout (keeping {@code minIdle}), reports leaks, and
   * creates objects up to {@code minIdle}.
   */
  public void housekeep() {
    List<Entry<T>> discard = new ArrayList<>();
    List<Entry<T>> leaked = new ArrayList<>();
    int toCreate;
    lock.lock();
    try {
      if (closed) {
        return;
      }
      long now = ticker.nanoTime();
      long idleTimeout = config.idleTimeout().toNanos();
      for (Iterator<Entry<T>> it = idle.iterator(); it.hasNext(); ) {
        Entry<T> e = it.next();
        boolean idleTooLong = idleTimeout > 0 && now - e.lastUsedNanos >= idleTimeout && idle.size() > config.minIdle();
        if (retired(e, now) || idleTooLong || resource.isBroken(e.object)) {
          it.remove();
          open--;
          discard.add(e);
        }
      }
      long leakAfter = config.leakDetectionThreshold().toNanos();
      if (leakAfter > 0) {
        for (Entry<T> e : borrowed) {
          if (!e.leakReported && now - e.borrowedAtNanos >= leakAfter) {
            e.leakReported = true;
            leaked.add(e);
          }
        }
      }
      toCreate = Math.max(0, Math.min(config.minIdle() - idle.size(), config.maxOpen() - open));
      open += toCreate;
    } finally {
      lock.unlock();
    }
    discard.forEach(this::destroy);
    for (Entry<T> e : leaked) {
      leaks.increment();
      log.warn("pool {}: an object has been borrowed for {} ms (leak detection threshold {} ms) and not given back; "
              + "borrowed at:", name, TimeUnit.NANOSECONDS.toMillis(ticker.nanoTime() - e.borrowedAtNanos),
          config.leakDetectionThreshold().toMillis(), e.borrowStack);
    }
    for (int i = 0; i < toCreate; i++) {
      Entry<T> e;
      try {
        e = createEntry();
      } catch (PoolResourceException failure) {
        log.debug("pool {}: could not fill minIdle", name, failure);
        continue;
      }
      addIdle(e);
    }
  }

  private void addIdle(Entry<T> e) {
    lock.lock();
    try {
      if (closed) {
        open--;
      } else if (!waiters.isEmpty()) {
        borrow(e, ticker.nanoTime());
        waiters.pollFirst().complete(e);
        return;
      } else {
        e.lastUsedNanos = ticker.nanoTime();
        idle.addLast(e);
        available.signal();
        return;
      }
    } finally {
      lock.unlock();
    }
    destroy(e);
  }

  /** Counts and acquire latency, now. */
  public PoolStats stats() {
    int openNow;
    int idleNow;
    int borrowedNow;
    int waitingNow;
    lock.lock();
    try {
      openNow = open;
      idleNow = idle.size();
      borrowedNow = borrowed.size();
      waitingNow = waiters.size() + competing;
    } finally {
      lock.unlock();
    }
    return new PoolStats(openNow, idleNow, borrowedNow, waitingNow, acquired.sum(), timeouts.sum(), rejected.sum(),
        leaks.sum(), created.sum(), destroyed.sum(), Duration.ofNanos(acquireNanos.getValueAtPercentile(50)),
        Duration.ofNanos(acquireNanos.getValueAtPercentile(99)), Duration.ofNanos(acquireNanos.getMaxValue()));
  }

  public PoolConfig config() {
    return config;
  }

  /**
   * Stops handing out (waiters fail with {@link PoolClosedException}), destroys idle objects, waits
   * up to the close timeout for borrowed ones to come back, then destroys those too.
   */
  @Override
  public void close() {
    List<Entry<T>> discard = new ArrayList<>();
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      PoolClosedException gone = new PoolClosedException("pool " + name + " closed while waiting");
      for (CompletableFuture<Entry<T>> w; (w = waiters.pollFirst()) != null; ) {
        w.completeExceptionally(gone);
      }
      available.signalAll();
      discard.addAll(idle);
      open -= idle.size();
      idle.clear();
    } finally {
      lock.unlock();
    }
    discard.forEach(this::destroy);
    discard.clear();
    lock.lock();
    try {
      long left = config.closeTimeout().toNanos();
      while (!borrowed.isEmpty() && left > 0) {
        try {
          left = returned.awaitNanos(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      if (!borrowed.isEmpty()) {
        log.warn("pool {}: {} objects still borrowed after {} ms; closing them", name, borrowed.size(),
            config.closeTimeout().toMillis());
        discard.addAll(borrowed);
        open -= borrowed.size();
        borrowed.clear();
      }
    } finally {
      lock.unlock();
    }
    discard.forEach(this::destroy);
    if (housekeeper != null) {
      housekeeper.shutdownNow();
    }
  }

  /** One pooled object and its times. Guarded by the pool's lock. */
  static final class Entry<T> {
    final T object;
    final long createdNanos;
    final long retireAtNanos;
    long lastUsedNanos;
    long borrowedAtNanos;
    Throwable borrowStack;
    boolean leakReported;

    Entry(T object, long createdNanos, long retireAtNanos) {
      this.object = object;
      this.createdNanos = createdNanos;
      this.retireAtNanos = retireAtNanos;
      this.lastUsedNanos = createdNanos;
    }
  }
}
