package io.longlink.client;

import java.time.Duration;

/**
 * The client's heartbeat interval changed ({@link AdaptiveHeartbeat}).
 *
 * @param network the network it was learned on
 * @param previous the interval before
 * @param interval the interval now
 * @param cause why
 * @param held whether the client now holds this interval (it stopped lengthening it until the relearn period
 *     has passed)
 */
public record HeartbeatChange(String network, Duration previous, Duration interval, Cause cause, boolean held) {
  /** Why the interval changed. */
  public enum Cause {
    /** A login: what was learned on this network before (or the gateway's interval, on a new one). */
    RESTORED,
    /** Lengthened after a run of idle periods that the connection survived. */
    GREW,
    /** Kept: the next step would reach an interval that failed, or the gateway's maximum. */
    HELD,
    /** The connection died the way NAT expiry kills one: back to the longest interval that survived, held. */
    NAT_EXPIRY,
    /** Held long enough: trying longer intervals again. */
    RELEARNING,
    /** The application is in the foreground: the gateway's interval, as without adaptation. */
    FOREGROUND,
    /** Back in the background: the learned interval. */
    BACKGROUND
  }
}
