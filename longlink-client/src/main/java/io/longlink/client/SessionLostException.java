package io.longlink.client;

/**
 * A send whose session was lost before the server acknowledged it: it may or may not have been
 * delivered. Resend it if the application tolerates a possible duplicate.
 */
public final class SessionLostException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SessionLostException(String message) {
    super(message);
  }
}
