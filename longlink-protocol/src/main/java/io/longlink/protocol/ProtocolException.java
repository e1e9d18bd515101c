package io.longlink.protocol;

/**
 * A peer broke the protocol. The only exception the decoder throws for bad input; the code says
 * which ERROR frame answers it, the message names the bad value and what was expected.
 */
public final class ProtocolException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  public ProtocolException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  /** The code of the ERROR frame that answers this violation. */
  public ErrorCode code() {
    return code;
  }
}
