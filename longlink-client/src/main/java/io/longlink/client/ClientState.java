package io.longlink.client;

/**
 * Lifecycle of a {@link LonglinkClient}. Allowed transitions:
 *
 * <pre>
 * DISCONNECTED → CONNECTING → HANDSHAKING → CONNECTED
 *      ↑______________|______________|___________|      (connection failed or lost)
 * any state except CLOSED → CLOSED                        (close())
 * </pre>
 */
public enum ClientState {
  /** No connection; {@code connect()} may be called. */
  DISCONNECTED,
  /** TCP connect in progress. */
  CONNECTING,
  /** TCP connected; HELLO sent, waiting for WELCOME. */
  HANDSHAKING,
  /** Session established; messages flow. */
  CONNECTED,
  /** Closed for good by the application. */
  CLOSED;

  /** Whether the lifecycle allows going from this state to {@code next}. */
  public boolean canMoveTo(ClientState next) {
    switch (this) {
      case DISCONNECTED:
        return next == CONNECTING || next == CLOSED;
      case CONNECTING:
        return next == HANDSHAKING || next == DISCONNECTED || next == CLOSED;
      case HANDSHAKING:
        return next == CONNECTED || next == DISCONNECTED || next == CLOSED;
      case CONNECTED:
        return next == DISCONNECTED || next == CLOSED;
      default:
        return false;
    }
  }
}
