package io.longlink.client;

import io.longlink.protocol.ErrorCode;
import java.util.Random;
import java.util.concurrent.TimeoutException;

/**
 * What the client does when a connection ends without it asking: give up, try the next endpoint at
 * once, or back off and try again. A pure decision over what the client knows at that moment
 * ({@link Loss}) and the backoff in force (the server announces it in WELCOME); the client carries
 * it out. Immutable; the backoff's jitter comes from the given {@link Random}.
 *
 * <p>The rules, in order:
 *
 * <ol>
 *   <li>A fatal cause (AUTH_FAILED, UNSUPPORTED_VERSION, REPLACED, KICKED, a CLOSE from the server)
 *       gives up: coming back cannot help, or would do harm.
 *   <li>Before the first connection ever succeeded, without {@code retryInitialConnect}: each
 *       endpoint is tried once, then the client gives up.
 *   <li>With reconnecting off: gives up.
 *   <li>An attempt that never connected fails over to the next endpoint of the round at once.
 *   <li>After {@code maxAttempts} backed-off attempts (0: no limit): gives up.
 *   <li>Otherwise backs off: uniform in [0, min(max, initial × 2^attempt)], less what the failed
 *       attempt already took, at least the server's GOAWAY delay. A connection that was up for
 *       {@code stableAfter} first starts the count over.
 * </ol>
 */
final class ReconnectPolicy {
  /** What to do. */
  enum Action {
    GIVE_UP,
    /** The next endpoint of this round, now. */
    FAIL_OVER,
    /** Wait {@link Decision#delayNanos}, then a new round of the endpoints. */
    BACK_OFF
  }

  /**
   * The decision.
   *
   * @param attempt the backed-off attempts so far, after this decision (what the client keeps)
   * @param delayNanos BACK_OFF: how long to wait first; else 0
   * @param nextRound BACK_OFF: the new round starts at the endpoint after the one that failed (the
   *     attempt never connected); false: at the same one
   * @param failure GIVE_UP: what the client fails with; else {@code null}
   */
  record Decision(Action action, int attempt, long delayNanos, boolean nextRound, Throwable failure) {}

  /**
   * What the client knows when a connection ends.
   *
   * @param cause why it ended ({@code null}: the connection just closed)
   * @param connectedForNanos how long it was logged in; -1 if it never got that far
   * @param everConnected some connection of this client ever logged in
   * @param attempt backed-off attempts since the last stable connection
   * @param triedInRound endpoints already failed over from in this round
   * @param endpoints how many endpoints the client has
   * @param goAwayDelayNanos the least delay a GOAWAY asked for; 0 if none
   * @param spentOnAttemptNanos how long the attempt that just failed took
   */
  record Loss(Throwable cause, long connectedForNanos, boolean everConnected, int attempt, int triedInRound,
      int endpoints, long goAwayDelayNanos, long spentOnAttemptNanos) {
    boolean wasConnected() {
      return connectedForNanos >= 0;
    }
  }

  private final boolean reconnect;
  private final boolean retryInitialConnect;
  private final int maxAttempts;
  private final long stableAfterNanos;
  private final Random random;

  ReconnectPolicy(boolean reconnect, boolean retryInitialConnect, int maxAttempts, long stableAfterNanos,
      Random random) {
    this.reconnect = reconnect;
    this.retryInitialConnect = retryInitialConnect;
    this.maxAttempts = maxAttempts;
    this.stableAfterNanos = stableAfterNanos;
    this.random = random;
  }

  Decision decide(Loss l, Backoff backoff) {
    int attempt = l.wasConnected() && l.connectedForNanos() >= stableAfterNanos ? 0 : l.attempt();
    boolean moreEndpoints = l.triedInRound() + 1 < l.endpoints();
    if (isFatal(l.cause())) {
      return giveUp(attempt, l.cause());
    }
    if (!l.everConnected() && !retryInitialConnect) {
      return moreEndpoints ? failOver(attempt) : giveUp(attempt, l.cause()); // connect() tries each endpoint once
    }
    if (!reconnect) {
      return giveUp(attempt, l.cause());
    }
    if (!l.wasConnected() && moreEndpoints) {
      return failOver(attempt);
    }
    if (maxAttempts > 0 && attempt >= maxAttempts) {
      return giveUp(attempt, new TimeoutException("gave up after " + attempt + " reconnect attempts; last failure: "
          + l.cause()));
    }
    long delay = backoff.delayNanos(attempt, random);
    if (!l.wasConnected()) {
      delay -= l.spentOnAttemptNanos(); // time already spent on the failed attempt counts
    }
    delay = Math.max(Math.max(delay, l.goAwayDelayNanos()), 0);
    return new Decision(Action.BACK_OFF, attempt + 1, delay, !l.wasConnected(), null);
  }

  private static Decision giveUp(int attempt, Throwable failure) {
    return new Decision(Action.GIVE_UP, attempt, 0, false, failure);
  }

  private static Decision failOver(int attempt) {
    return new Decision(Action.FAIL_OVER, attempt, 0, false, null);
  }

  /** Errors after which reconnecting cannot help (or would do harm). */
  static boolean isFatal(Throwable cause) {
    if (!(cause instanceof LonglinkException)) {
      return false;
    }
    ErrorCode code = ((LonglinkException) cause).code();
    switch (code) {
      case AUTH_FAILED:
      case UNSUPPORTED_VERSION:
      case REPLACED: // another connection logged in as us: coming back would kick it out
      case KICKED:
      case NORMAL: // the server ended the session with CLOSE
        return true;
      default:
        return false;
    }
  }
}
