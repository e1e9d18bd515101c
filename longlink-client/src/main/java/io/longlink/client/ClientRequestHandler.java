package io.longlink.client;

import java.time.Duration;
import java.time.Instant;

/**
 * Answers requests other clients send to this one through the gateway
 * ({@link LonglinkClient#request(String, byte[], Duration)}). Runs on the client's request executor
 * (see {@link LonglinkClient.Builder#requestHandler}), so it may block; its thread is interrupted
 * when the asker gives up or the connection breaks. A request past its deadline is never handed
 * to it.
 */
@FunctionalInterface
public interface ClientRequestHandler {
  /**
   * @return the answer
   * @throws Exception the asker gets REQUEST_FAILED with the exception's message
   */
  byte[] handle(IncomingRequest request) throws Exception;

  /**
   * A request from client {@code from}.
   *
   * @param deadline when the asker stops waiting
   */
  record IncomingRequest(String from, Instant deadline, byte[] payload) {
    /** Time left until the deadline (negative when past it). */
    public Duration remaining() {
      return Duration.between(Instant.now(), deadline);
    }
  }
}
