package io.longlink.client.pool;

import java.util.concurrent.TimeoutException;

/** No object became free within the acquire timeout. */
public final class AcquireTimeoutException extends TimeoutException {
  private static final long serialVersionUID = 1L;

  public AcquireTimeoutException(String message) {
    super(message);
  }
}
