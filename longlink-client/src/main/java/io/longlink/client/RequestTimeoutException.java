package io.longlink.client;

import io.longlink.protocol.ErrorCode;

/**
 * A request's deadline passed before its answer arrived. The client told the gateway to drop it
 * (CANCEL); an answer that still comes is discarded and counted
 * ({@link LonglinkClient#lateResponses()}).
 */
public final class RequestTimeoutException extends LonglinkException {
  private static final long serialVersionUID = 1L;

  public RequestTimeoutException(String message) {
    super(ErrorCode.DEADLINE_EXCEEDED, message);
  }
}
