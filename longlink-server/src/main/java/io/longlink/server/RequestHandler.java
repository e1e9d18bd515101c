package io.longlink.server;

import java.time.Duration;
import java.time.Instant;

/**
 * Answers clients' requests (docs/PROTOCOL.md section 9): the backend entry point for
 * request/response over a long connection. Each request runs on a virtual thread of its own, so a
 * handler may block (call a database, another service) without stalling any connection.
 *
 * <p>A request whose deadline passed before it started is never handed to the handler; one the
 * client cancels, or whose connection closes, has its thread interrupted.
 */
@FunctionalInterface
public interface RequestHandler {

  /**
   * @return the response payload
   * @throws Exception the client gets a REQUEST_FAILED response carrying the exception's message
   */
  byte[] handle(Request request) throws Exception;

  /**
   * One request as a client sent it.
   *
   * @param clientId the authenticated client id
   * @param requestId the client's id for it, unique on its connection
   * @param deadline when the client stops waiting for the answer
   */
  record Request(String clientId, String sessionId, long requestId, Instant deadline, byte[] payload) {
    /** Time left until the deadline (negative when past it). */
    public Duration remaining() {
      return Duration.between(Instant.now(), deadline);
    }
  }
}
