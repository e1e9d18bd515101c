package io.longlink.client.pool;

import java.time.Duration;

/**
 * How an {@link ObjectPool} makes, checks and disposes of what it pools. Called outside the pool's
 * lock; {@link #create} and {@link #validate} may block.
 *
 * @param <T> the pooled object
 */
public interface PoolResource<T> {
  /** A new object, ready for use; throws if it cannot be made (the acquirer gets the exception). */
  T create() throws Exception;

  /**
   * Whether an object that sat idle is still usable (e.g. answers a ping within {@code timeout}).
   * Called when it was idle longer than the pool's validation threshold.
   */
  default boolean validate(T object, Duration timeout) {
    return true;
  }

  /** Whether an object is obviously broken, checked cheaply on every acquire and release. */
  default boolean isBroken(T object) {
    return false;
  }

  /** Releases the object for good. Must not throw. */
  void destroy(T object);
}
