package io.longlink.server.internal;

/**
 * Lifecycle of one server-side connection. Transitions: HANDSHAKING → OPEN → CLOSING → CLOSED,
 * HANDSHAKING → CLAIMING → OPEN in a cluster, and HANDSHAKING/CLAIMING/OPEN → CLOSING or CLOSED
 * directly; nothing leaves CLOSED.
 */
enum ConnectionState {
  /** Accepted; waiting for a valid HELLO before the handshake deadline. */
  HANDSHAKING,
  /**
   * HELLO accepted; waiting for the cluster store to create or hand over the session. Frames that
   * arrive meanwhile wait undecoded.
   */
  CLAIMING,
  /** Logged in; frames flow; liveness deadline moves with traffic. */
  OPEN,
  /** A final ERROR/GOAWAY is being written; inbound frames are ignored; closes soon. */
  CLOSING,
  /** The channel closed and every resource was released. */
  CLOSED;

  boolean canMoveTo(ConnectionState next) {
    switch (this) {
      case HANDSHAKING:
        return next == OPEN || next == CLAIMING || next == CLOSING || next == CLOSED;
      case CLAIMING:
        return next == OPEN || next == CLOSING || next == CLOSED;
      case OPEN:
        return next == CLOSING || next == CLOSED;
      case CLOSING:
        return next == CLOSED;
      default:
        return false;
    }
  }
}
