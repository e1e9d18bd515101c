package io.longlink.client;

/**
 * The connection broke after a request had been sent and before its answer came: the gateway may
 * or may not have processed it. Retry only if the request is safe to repeat.
 */
public final class ConnectionLostException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConnectionLostException(String message, Throwable cause) {
    super(message, cause);
  }
}
