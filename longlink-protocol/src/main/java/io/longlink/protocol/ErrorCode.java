package io.longlink.protocol;

/**
 * Codes carried by ERROR, GOAWAY and CLOSE frames (docs/PROTOCOL.md section 7). Unknown codes
 * received from a peer map to {@link #OTHER}, never to an exception.
 */
public enum ErrorCode {
  NORMAL(0),
  PROTOCOL_ERROR(1),
  UNSUPPORTED_VERSION(2),
  FRAME_TOO_LARGE(3),
  UNKNOWN_FRAME_TYPE(4),
  UNEXPECTED_FRAME(5),
  SEQUENCE_GAP(6),
  AUTH_FAILED(10),
  HANDSHAKE_TIMEOUT(11),
  RESUME_REFUSED(12),
  /** GOAWAY: the connection's token expired and no fresh one came (AUTH); resume with a valid token. */
  TOKEN_EXPIRED(13),
  /** REJECT / an answer to SUBSCRIBE or REQUEST: the principal may not do this; the connection stays. */
  FORBIDDEN(14),
  HEARTBEAT_TIMEOUT(20),
  REPLACED(30),
  SERVER_SHUTDOWN(31),
  KICKED(32),
  LIMIT_EXCEEDED(40),
  SLOW_CONSUMER(41),
  RATE_LIMITED(42),
  INTERNAL_ERROR(50),
  /** RESPONSE: the gateway has no request handler. */
  NO_HANDLER(60),
  /** RESPONSE: the handler failed; the message says why. */
  REQUEST_FAILED(61),
  /** The request's deadline passed (a client's local timeout; a server never answers expired requests). */
  DEADLINE_EXCEEDED(62),
  /** RESPONSE: the client asked is not connected to this gateway (or left before answering). */
  UNREACHABLE(63),
  /**
   * A service the gateway needs for this (its cluster store, e.g. Redis) is unavailable: a REJECT
   * for a message to another node, or a GOAWAY with a retry delay for a resume. Retry later.
   */
  UNAVAILABLE(64),
  /** A code this implementation does not know; the raw value is kept by the frame. */
  OTHER(-1);

  private final int code;

  ErrorCode(int code) {
    this.code = code;
  }

  /** The u16 on the wire ({@code -1} for {@link #OTHER}). */
  public int code() {
    return code;
  }

  /** The code for a wire value; {@link #OTHER} for values this version does not define. */
  public static ErrorCode ofCode(int code) {
    for (ErrorCode c : values()) {
      if (c.code == code) {
        return c;
      }
    }
    return OTHER;
  }
}
