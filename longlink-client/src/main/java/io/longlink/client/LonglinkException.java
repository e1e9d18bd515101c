package io.longlink.client;

import io.longlink.protocol.ErrorCode;

/** The gateway refused or ended something, with the protocol's code for why. */
public class LonglinkException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ErrorCode code;

  public LonglinkException(ErrorCode code, String message) {
    super(code + ": " + message);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
