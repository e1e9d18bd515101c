package io.longlink.client;

/**
 * The server dropped messages for this client under its drop-oldest slow-consumer policy: they did
 * not fit in the session's replay buffer because the client read too slowly or stayed away too
 * long. The session goes on; messages after {@code lastSeq} arrive as usual.
 *
 * @param firstSeq the first dropped message's sequence number
 * @param lastSeq the last dropped message's sequence number
 */
public record MessagesDroppedEvent(long firstSeq, long lastSeq) {
  /** How many messages this client will never get. */
  public long count() {
    return lastSeq - firstSeq + 1;
  }
}
