package io.longlink.client.pool;

import java.time.Duration;
import java.util.Objects;

/**
 * Immutable pool settings, validated when built; every error names the bad value and what was
 * expected. Durations of zero switch the feature off where the method says so.
 *
 * @param maxOpen most objects in existence (idle, borrowed or being created)
 * @param maxIdle most idle objects kept; more are destroyed on release
 * @param minIdle idle objects the housekeeper keeps ready (within {@code maxOpen})
 * @param idleTimeout an idle object beyond {@code minIdle} unused this long is destroyed; zero: never
 * @param maxLifetime an object is retired once this old, never while borrowed; zero: never
 * @param lifetimeJitter each object's lifetime is drawn from {@code [maxLifetime - jitter,
 *     maxLifetime]}, so objects made together do not all expire together
 * @param acquireTimeout how long {@code acquire} waits for an object
 * @param maxWaiters most callers waiting at once; one more fails at once with
 *     {@link PoolExhaustedException}
 * @param fair waiters get objects in arrival order, handed over directly (no caller that just
 *     arrived can take an object a waiter is owed). Unfair, a freed object goes to whichever
 *     caller gets it first (typically the thread that just gave it back): several times the
 *     throughput when callers far outnumber objects, at the price of order and of longer tail waits
 * @param validationThreshold an object idle longer than this is validated before it is handed out
 * @param validationTimeout how long a validation may take
 * @param leakDetectionThreshold an object borrowed longer than this is reported, with the stack of
 *     its borrower; zero: off (no stack is captured)
 * @param housekeepingPeriod how often idle timeouts, lifetimes, {@code minIdle} and leaks are checked
 * @param closeTimeout how long {@code close} waits for borrowed objects to come back
 */
public record PoolConfig(
    int maxOpen,
    int maxIdle,
    int minIdle,
    Duration idleTimeout,
    Duration maxLifetime,
    Duration lifetimeJitter,
    Duration acquireTimeout,
    int maxWaiters,
    boolean fair,
    Duration validationThreshold,
    Duration validationTimeout,
    Duration leakDetectionThreshold,
    Duration housekeepingPeriod,
    Duration closeTimeout) {

  public PoolConfig {
    check(maxOpen >= 1, "maxOpen", maxOpen, ">= 1");
    check(maxIdle >= 0 && maxIdle <= maxOpen, "maxIdle", maxIdle, "0..maxOpen (" + maxOpen + ")");
    check(minIdle >= 0 && minIdle <= maxIdle, "minIdle", minIdle, "0..maxIdle (" + maxIdle + ")");
    notNegative(idleTimeout, "idleTimeout");
    notNegative(maxLifetime, "maxLifetime");
    notNegative(lifetimeJitter, "lifetimeJitter");
    check(maxLifetime.isZero() || lifetimeJitter.compareTo(maxLifetime) < 0, "lifetimeJitter", lifetimeJitter,
        "< maxLifetime (" + maxLifetime + ")");
    positive(acquireTimeout, "acquireTimeout");
    check(maxWaiters >= 0, "maxWaiters", maxWaiters, ">= 0");
    notNegative(validationThreshold, "validationThreshold");
    positive(validationTimeout, "validationTimeout");
    notNegative(leakDetectionThreshold, "leakDetectionThreshold");
    positive(housekeepingPeriod, "housekeepingPeriod");
    notNegative(closeTimeout, "closeTimeout");
  }

  public static Builder builder() {
    return new Builder();
  }

  private static void check(boolean ok, String name, Object value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: " + expected + ")");
    }
  }

  private static void notNegative(Duration d, String name) {
    Objects.requireNonNull(d, name);
    check(!d.isNegative(), name, d, ">= 0");
  }

  private static void positive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    check(!d.isNegative() && !d.isZero(), name, d, "> 0");
  }

  /** Builds a {@link PoolConfig}; unset values take the documented defaults. */
  public static final class Builder {
    private int maxOpen = 10;
    private Integer maxIdle;
    private int minIdle = 0;
    private Duration idleTimeout = Duration.ofMinutes(10);
    private Duration maxLifetime = Duration.ofMinutes(30);
    private Duration lifetimeJitter;
    private Duration acquireTimeout = Duration.ofSeconds(5);
    private int maxWaiters = 1_000;
    private boolean fair = true;
    private Duration validationThreshold = Duration.ofSeconds(5);
    private Duration validationTimeout = Duration.ofSeconds(1);
    private Duration leakDetectionThreshold = Duration.ZERO;
    private Duration housekeepingPeriod = Duration.ofSeconds(1);
    private Duration closeTimeout = Duration.ofSeconds(5);

    private Builder() {}

    /** Default 10. */
    public Builder maxOpen(int maxOpen) {
      this.maxOpen = maxOpen;
      return this;
    }

    /** Default: {@code maxOpen}. */
    public Builder maxIdle(int maxIdle) {
      this.maxIdle = maxIdle;
      return this;
    }

    /** Default 0. */
    public Builder minIdle(int minIdle) {
      this.minIdle = minIdle;
      return this;
    }

    /** Default 10 min; zero keeps idle objects for ever. */
    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = idleTimeout;
      return this;
    }

    /** Default 30 min; zero: no lifetime. */
    public Builder maxLifetime(Duration maxLifetime) {
      this.maxLifetime = maxLifetime;
      return this;
    }

    /** Default: a tenth of {@code maxLifetime}. */
    public Builder lifetimeJitter(Duration lifetimeJitter) {
      this.lifetimeJitter = lifetimeJitter;
      return this;
    }

    /** Default 5 s. */
    public Builder acquireTimeout(Duration acquireTimeout) {
      this.acquireTimeout = acquireTimeout;
      return this;
    }

    /** Default 1,000. */
    public Builder maxWaiters(int maxWaiters) {
      this.maxWaiters = maxWaiters;
      return this;
    }

    /** Default true (first come, first served). */
    public Builder fair(boolean fair) {
      this.fair = fair;
      return this;
    }

    /** Default 5 s; zero validates every idle object on acquire. */
    public Builder validationThreshold(Duration validationThreshold) {
      this.validationThreshold = validationThreshold;
      return this;
    }

    /** Default 1 s. */
    public Builder validationTimeout(Duration validationTimeout) {
      this.validationTimeout = validationTimeout;
      return this;
    }

    /** Default zero (off). */
    public Builder leakDetectionThreshold(Duration leakDetectionThreshold) {
      this.leakDetectionThreshold = leakDetectionThreshold;
      return this;
    }

    /** Default 1 s. */
    public Builder housekeepingPeriod(Duration housekeepingPeriod) {
      this.housekeepingPeriod = housekeepingPeriod;
      return this;
    }

    /** Default 5 s. */
    public Builder closeTimeout(Duration closeTimeout) {
      this.closeTimeout = closeTimeout;
      return this;
    }

    public PoolConfig build() {
      Duration jitter = lifetimeJitter != null ? lifetimeJitter
          : maxLifetime == null ? Duration.ZERO : maxLifetime.dividedBy(10);
      return new PoolConfig(maxOpen, maxIdle != null ? maxIdle : maxOpen, minIdle, idleTimeout, maxLifetime, jitter,
          acquireTimeout, maxWaiters, fair, validationThreshold, validationTimeout, leakDetectionThreshold,
          housekeepingPeriod, closeTimeout);
    }
  }
}
