package io.longlink.server;

import java.time.Duration;
import java.time.Instant;

/**
 * One session as the admin API shows it ({@code GET /v1/sessions}): a snapshot, possibly a moment old.
 *
 * @param deviceId the device (protocol version 3); empty for a session without one
 * @param state ATTACHED, DETACHED or ENDED
 * @param link the connection holding it; {@code null} while detached
 * @param bufferedMessages messages sent to the client and not yet acknowledged, or not yet sent
 * @param lastSentSeq the last server-to-client sequence number given out
 * @param lastReceivedSeq the last client-to-server sequence number accepted
 */
public record SessionInfo(String clientId, String deviceId, String sessionId, String subject, String state, Link link,
    int bufferedMessages, long bufferedBytes, long lastSentSeq, long lastReceivedSeq, int topics) {

  /**
   * The connection of an attached session.
   *
   * @param lastHeard when the gateway last received anything on it (a heartbeat or any frame)
   * @param rtt round trip of the gateway's last sampled PING; {@code null} if none yet
   */
  public record Link(String remoteAddress, Instant connectedSince, Instant lastHeard, Duration rtt) {}
}
