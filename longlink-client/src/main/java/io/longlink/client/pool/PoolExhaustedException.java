package io.longlink.client.pool;

/**
 * Every object is in use and the wait queue is full ({@link PoolConfig#maxWaiters()}): failing at
 * once instead of queueing without bound.
 */
public final class PoolExhaustedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public PoolExhaustedException(String message) {
    super(message);
  }
}
