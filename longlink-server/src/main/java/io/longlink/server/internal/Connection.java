package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.server.SessionInfo;

/**
 * What the rest of the node may ask of one client connection: its {@link Session}, the {@link
 * SessionDirectory}, the request dispatcher and the node's drain and load shedding depend on this,
 * never on the connection's class ({@link ServerConnection}).
 *
 * <p>Every method may be called from any thread and returns at once. Those that act hop onto the
 * connection's event loop (in the order one thread called them; right away when called on the loop,
 * in order with what the loop decided before) and do nothing once the connection is closing.
 */
interface Connection {
  /** Longest reason an ERROR, GOAWAY or REJECT carries; longer ones are cut (surrogate pairs kept whole). */
  int MAX_REASON_CHARS = 300;

  /** {@code reason} cut to {@link #MAX_REASON_CHARS}. */
  static String truncate(String reason) {
    if (reason.length() <= MAX_REASON_CHARS) {
      return reason;
    }
    int end = Character.isHighSurrogate(reason.charAt(MAX_REASON_CHARS - 1)) ? MAX_REASON_CHARS - 1 : MAX_REASON_CHARS;
    return reason.substring(0, end) + "...";
  }

  /** Its session has messages to write: one write task on the loop, however often called before it runs. */
  void scheduleFlush();

  /**
   * Its session's replay buffer is full and the node cuts slow consumers: ERROR SLOW_CONSUMER and
   * close (the session then counts what it could not buffer, and the next resume is LOST with it).
   */
  void replayBufferOverflowed();

  /**
   * Backpressure: stops ({@code false}) or resumes reading the client's frames. Frames already read
   * wait undecoded and are handled, in order, when reading resumes.
   */
  void readFromClient(boolean on);

  /**
   * More of the client's frames have their effects stored: write an ACK up to what the directory now
   * says may be acknowledged ({@link SessionDirectory#ackable}).
   */
  void acknowledgeStored();

  /** Writes an unsequenced frame (REQUEST, RESPONSE, CANCEL, REJECT) if the session is still open. */
  void sendIfOpen(Frame frame);

  /** Sends GOAWAY {@code code} and closes: the session was replaced, kicked or moved to another node. */
  void goAway(ErrorCode code, String reason);

  /**
   * Drain and load shedding: writes what the session has buffered, then GOAWAY SERVER_SHUTDOWN with
   * this client's reconnect delay and where to go ({@code alternativeEndpoint}, HOST:PORT or empty),
   * and stays open so the client can acknowledge what it got; the client closes it (or the node does,
   * at its drain timeout). A connection still in its handshake is refused with ERROR SERVER_SHUTDOWN.
   */
  void goAwayWithBacklog(String reason, int reconnectDelayMs, String alternativeEndpoint);

  /** Logged in and not closing. A moment's view from another thread. */
  boolean isOpen();

  /** What the admin API shows of it; the values may be a moment old. */
  SessionInfo.Link link();
}
