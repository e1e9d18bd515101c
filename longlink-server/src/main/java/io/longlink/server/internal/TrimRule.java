package io.longlink.server.internal;

/**
 * When a cluster session's log in the store is trimmed after the client's acknowledgements: not
 * on every ACK (a busy receiver acknowledges every few messages, a fan-out subscriber after every
 * one, and each trim is store work), but once {@link #EVERY} acknowledged messages have gathered;
 * what is left below that is trimmed by a sweep every {@link #SWEEP_MILLIS}, so a session that
 * went quiet holds nothing it has for longer than that.
 *
 * <p>Untrimmed acknowledged entries are harmless to a resume (the client's HELLO says what it has,
 * and the resumed session skips it); they count towards the log's bound, which they can reach
 * at most {@link #EVERY} entries early.
 */
final class TrimRule {
  /** Acknowledged messages that make a trim due at once. */
  static final long EVERY = 64;
  /** How often the rest is trimmed. */
  static final long SWEEP_MILLIS = 1_000;

  private TrimRule() {}

  /**
   * @param trimmed the log is trimmed up to here
   * @param acked the client acknowledged up to here
   */
  static boolean due(long trimmed, long acked) {
    return acked - trimmed >= EVERY;
  }
}
