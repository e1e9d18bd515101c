package io.longlink.client.pool;

/** Creating a pooled object failed; the cause says why. */
public final class PoolResourceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PoolResourceException(String message, Throwable cause) {
    super(message, cause);
  }
}
