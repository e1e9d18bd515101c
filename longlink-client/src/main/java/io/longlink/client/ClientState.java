package io.longlink.client;

/**
 * Lifecycle of a {@link LonglinkClient}. Allowed transitions:
 *
 * <pre>
 * DISCONNECTED → CONNECTING → HANDSHAKING → CONNECTED
 *                    ↑              |            |
 *                    |              ↓            ↓      connection failed or lost
 *                    +-------- RECONNECTING ←----+      (waits out the backoff delay)
 * CONNECTING / HANDSHAKING / RECONNECTING → DISCONNECTED   gave up (max attempts, or a fatal refusal)
 * any state but CLOSED → CLOSED                            close()
 * </pre>
 */
public enum ClientState {
  /** No connection and none coming: never connected, or gave up. {@code connect()} may be called. */
  DISCONNECTED,
  /** TCP connect in progress. */
  CONNECTING,
  /** TCP connected; HELLO sent, waiting for WELCOME. */
  HANDSHAKING,
  /** Session established; messages flow. */
  CONNECTED,
  /** Connection lost; waiting for the next attempt. Sends are queued meanwhile. */
  RECONNECTING,
  /** Closed for good by the application. */
  CLOSED;

  /** Whether the lifecycle allows going from this state to {@code next}. */
  public boolean canMoveTo(ClientState next) {
    if (next == CLOSED) {
      return this != CLOSED;
    }
    switch (this) {
      case DISCONNECTED:
        return next == CONNECTING;
      case CONNECTING:
        return next == HANDSHAKING || next == RECONNECTING || next == DISCONNECTED;
      case HANDSHAKING:
        return next == CONNECTED || next == RECONNECTING || next == DISCONNECTED;
      case CONNECTED:
        return next == RECONNECTING || next == DISCONNECTED;
      case RECONNECTING:
        return next == CONNECTING || next == DISCONNECTED;
      default:
        return false;
    }
  }
}
