package io.longlink.server.internal;

/**
 * When a cluster session's log in the store is trimmed after the client's acknowledgements: not
 * on every ACK (a busy receiver acknowledges every few messages, and each trim is a store call),
 * but once {@link #EVERY} acknowledged messages have gathered, or at once when the client has
 * acknowledged everything sent to it, so an idle session's log holds nothing it has.
 *
 * <p>Untrimmed acknowledged entries are harmless to a resume (the client's HELLO says what it has,
 * and the resumed session skips it); they count towards the log's bound, which they can reach
 * at most {@link #EVERY} entries early.
 */
final class TrimRule {
  /** Acknowledged messages that make a trim due while more are unacknowledged. */
  static final long EVERY = 64;

  private TrimRule() {}

  /**
   * @param trimmed the log is trimmed up to here
   * @param acked the client acknowledged up to here
   * @param lastSent the last seq sent to the client
   */
  static boolean due(long trimmed, long acked, long lastSent) {
    return acked > trimmed && (acked - trimmed >= EVERY || acked >= lastSent);
  }
}
