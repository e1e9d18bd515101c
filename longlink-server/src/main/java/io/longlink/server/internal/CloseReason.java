package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;

/** Why a connection closed, as counted by {@code longlink_connection_closes_total{reason}}. */
public enum CloseReason {
  /** The client sent CLOSE (ended its session). */
  CLIENT_CLOSE,
  /** The client reported an error and closed. */
  CLIENT_ERROR,
  /** The peer went away without CLOSE (FIN or RST): the session stays for resume. */
  PEER_GONE,
  /** A socket error (reset while writing, user timeout, keepalive failure). */
  IO_ERROR,
  HEARTBEAT_TIMEOUT,
  HANDSHAKE_TIMEOUT,
  /** The TLS handshake failed (plaintext on the TLS port, a bad client certificate, a stall): see {@link TlsFailure}. */
  TLS_HANDSHAKE,
  /** A malformed or unexpected frame, a bad sequence number. */
  PROTOCOL_ERROR,
  AUTH_FAILED,
  /** The connection's token expired and no fresh one came: GOAWAY TOKEN_EXPIRED (the session stays). */
  TOKEN_EXPIRED,
  SLOW_CONSUMER,
  /** A limit or rate limit of the node (including admission control). */
  LIMIT,
  /** The client logged in or resumed on another connection. */
  REPLACED,
  /** Drain or load shedding: the node sent the client elsewhere. */
  DRAIN,
  /** An operator removed the session. */
  KICKED,
  /** The node stopped. */
  SHUTDOWN,
  OTHER;

  /** The reason a server-sent ERROR or GOAWAY with {@code code} stands for. */
  static CloseReason of(ErrorCode code) {
    switch (code) {
      case HEARTBEAT_TIMEOUT:
        return HEARTBEAT_TIMEOUT;
      case HANDSHAKE_TIMEOUT:
        return HANDSHAKE_TIMEOUT;
      case PROTOCOL_ERROR:
      case UNSUPPORTED_VERSION:
      case FRAME_TOO_LARGE:
      case UNKNOWN_FRAME_TYPE:
      case UNEXPECTED_FRAME:
      case SEQUENCE_GAP:
        return PROTOCOL_ERROR;
      case AUTH_FAILED:
      case RESUME_REFUSED:
        return AUTH_FAILED;
      case TOKEN_EXPIRED:
        return TOKEN_EXPIRED;
      case SLOW_CONSUMER:
        return SLOW_CONSUMER;
      case LIMIT_EXCEEDED:
      case RATE_LIMITED:
        return LIMIT;
      case REPLACED:
        return REPLACED;
      case SERVER_SHUTDOWN:
        return DRAIN;
      case KICKED:
        return KICKED;
      default:
        return OTHER;
    }
  }

  /** The Prometheus label value. */
  String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
