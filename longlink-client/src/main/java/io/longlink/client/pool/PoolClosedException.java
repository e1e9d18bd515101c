package io.longlink.client.pool;

/** The pool is closed (or closing) and hands nothing out. */
public final class PoolClosedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public PoolClosedException(String message) {
    super(message);
  }
}
