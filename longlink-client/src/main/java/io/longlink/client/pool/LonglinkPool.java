package io.longlink.client.pool;

import io.longlink.client.ClientState;
import io.longlink.client.ConnectionLostException;
import io.longlink.client.LonglinkClient;
import io.longlink.client.RequestTimeoutException;
import io.longlink.protocol.Ticker;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A pool of connections (each a {@link LonglinkClient} with a session of its own) to one gateway or
 * a list of endpoints, for backends where many threads share a few long connections. Bounds, wait
 * queue, lifetimes, validation and leak detection follow {@link PoolConfig}; see
 * {@link ObjectPool} for the rules. A pooled client does not reconnect by itself: a connection that
 * breaks is evicted and a new one made on demand.
 *
 * <pre>{@code
 * try (LonglinkPool pool = LonglinkPool.builder(() -> LonglinkClient.builder().endpoint("gw", 7000).token(t))
 *     .config(PoolConfig.builder().maxOpen(10).build()).build()) {
 *   byte[] answer = pool.request(question, Duration.ofSeconds(2)).get();
 *   try (ObjectPool.Lease<LonglinkClient> c = pool.acquire()) {
 *     c.get().send(Destination.client("bob"), hello).get();
 *   }
 * }
 * }</pre>
 */
public final class LonglinkPool implements AutoCloseable {
  private final ObjectPool<LonglinkClient> pool;
  private final EventLoopGroup group;

  private LonglinkPool(Builder b) {
    this.group = new MultiThreadIoEventLoopGroup(b.ioThreads, NioIoHandler.newFactory());
    this.pool = new ObjectPool<>(b.name, b.config, new Clients(b.clients, b.clientIdPrefix, group, b.connectTimeout),
        b.ticker, b.housekeeping);
  }

  public static Builder builder(Supplier<LonglinkClient.Builder> clients) {
    return new Builder(clients);
  }

  /** Borrows a connected client; give it back by closing the lease. See {@link ObjectPool#acquire()}. */
  public ObjectPool.Lease<LonglinkClient> acquire() throws AcquireTimeoutException, InterruptedException {
    return pool.acquire();
  }

  /** Borrows a connected client, waiting up to {@code timeout}. */
  public ObjectPool.Lease<LonglinkClient> acquire(Duration timeout) throws AcquireTimeoutException, InterruptedException {
    return pool.acquire(timeout);
  }

  /**
   * Borrows a connection, sends a request with the deadline now + {@code timeout} (time spent
   * waiting for the connection counts), and gives the connection back when the answer (or the
   * failure) arrives. A connection that broke on the way is evicted. The calling thread blocks only
   * while acquiring.
   *
   * @return fails with {@link RequestTimeoutException} at the deadline (also when no connection was
   *     free in time), {@link PoolExhaustedException} when the wait queue is full, or what
   *     {@link LonglinkClient#request} fails with
   */
  public CompletableFuture<byte[]> request(byte[] payload, Duration timeout) {
    return request("", payload, timeout);
  }

  /**
   * Like {@link #request(byte[], Duration)}, asking another client (through the gateway) instead of
   * the gateway's handler; see {@link LonglinkClient#request(String, byte[], Duration)}.
   */
  public CompletableFuture<byte[]> request(String clientId, byte[] payload, Duration timeout) {
    long start = System.nanoTime();
    ObjectPool.Lease<LonglinkClient> lease;
    try {
      Duration wait = timeout.compareTo(pool.config().acquireTimeout()) < 0 ? timeout : pool.config().acquireTimeout();
      lease = pool.acquire(wait);
    } catch (AcquireTimeoutException e) {
      return CompletableFuture.failedFuture(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(e);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    Duration left = timeout.minusNanos(System.nanoTime() - start);
    if (left.isNegative() || left.isZero()) {
      lease.close();
      return CompletableFuture.failedFuture(new RequestTimeoutException("no answer within " + timeout.toMillis()
          + " ms: the deadline passed while waiting for a pooled connection"));
    }
    LonglinkClient client = lease.get();
    CompletableFuture<byte[]> answer;
    try {
      answer = client.request(clientId, payload, left);
    } catch (RuntimeException e) {
      lease.close();
      throw e;
    }
    return answer.whenComplete((v, e) -> {
      if (e instanceof ConnectionLostException || client.state() != ClientState.CONNECTED) {
        lease.invalidate();
      } else {
        lease.close();
      }
    });
  }

  public PoolStats stats() {
    return pool.stats();
  }

  /** One housekeeping pass now (the pool also runs them by itself). */
  public void housekeep() {
    pool.housekeep();
  }

  /** See {@link ObjectPool#close()}; then stops the pool's I/O threads. */
  @Override
  public void close() {
    pool.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Makes, checks and closes the pooled clients. */
  private static final class Clients implements PoolResource<LonglinkClient> {
    private final Supplier<LonglinkClient.Builder> template;
    private final String prefix;
    private final EventLoopGroup group;
    private final Duration connectTimeout;
    private final AtomicLong next = new AtomicLong();

    Clients(Supplier<LonglinkClient.Builder> template, String prefix, EventLoopGroup group, Duration connectTimeout) {
      this.template = template;
      this.prefix = prefix;
      this.group = group;
      this.connectTimeout = connectTimeout;
    }

    @Override
    public LonglinkClient create() throws Exception {
      LonglinkClient c = template.get().clientId(prefix + next.incrementAndGet()).eventLoopGroup(group)
          .reconnect(false).build();
      try {
        c.connect().get(connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
        return c;
      } catch (ExecutionException | TimeoutException | InterruptedException e) {
        c.closeAsync();
        throw e;
      }
    }

    @Override
    public boolean validate(LonglinkClient c, Duration timeout) {
      try {
        c.ping().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        return true;
      } catch (ExecutionException | TimeoutException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    @Override
    public boolean isBroken(LonglinkClient c) {
      return c.state() != ClientState.CONNECTED;
    }

    @Override
    public void destroy(LonglinkClient c) {
      c.closeAsync();
    }
  }

  /** Assembles a pool. */
  public static final class Builder {
    private final Supplier<LonglinkClient.Builder> clients;
    private PoolConfig config = PoolConfig.builder().build();
    private String name = "longlink";
    private String clientIdPrefix;
    private Duration connectTimeout = Duration.ofSeconds(5);
    private int ioThreads = 2;
    private Ticker ticker = Ticker.system();
    private boolean housekeeping = true;

    private Builder(Supplier<LonglinkClient.Builder> clients) {
      this.clients = Objects.requireNonNull(clients, "clients");
    }

    public Builder config(PoolConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /** Names the pool in logs and its housekeeping thread; default "longlink". */
    public Builder name(String name) {
      this.name = Objects.requireNonNull(name, "name");
      return this;
    }

    /**
     * Client ids of pooled connections are this prefix and a number (each needs its own: a login
     * with a client id in use replaces that session). Default: the pool name, a random tag and "-".
     */
    public Builder clientIdPrefix(String clientIdPrefix) {
      this.clientIdPrefix = Objects.requireNonNull(clientIdPrefix, "clientIdPrefix");
      return this;
    }

    /** How long creating a connection (connect + login) may take; default 5 s. */
    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
      return this;
    }

    /** I/O threads shared by the pool's connections; default 2. */
    public Builder ioThreads(int ioThreads) {
      if (ioThreads < 1) {
        throw new IllegalArgumentException("ioThreads: " + ioThreads + " (expected: >= 1)");
      }
      this.ioThreads = ioThreads;
      return this;
    }

    /** For tests: the clock of lifetimes and timeouts, and whether housekeeping runs by itself. */
    public Builder ticker(Ticker ticker, boolean housekeeping) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      this.housekeeping = housekeeping;
      return this;
    }

    public LonglinkPool build() {
      if (clientIdPrefix == null) {
        clientIdPrefix = name + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16) + "-";
      }
      return new LonglinkPool(this);
    }
  }
}
