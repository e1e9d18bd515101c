package io.longlink.client;

/**
 * The client moved to another fallback tier ({@link Fallback}). The session resumes across the move.
 *
 * @param from the tier before
 * @param to the tier now
 * @param cause why
 */
public record RouteChange(Route from, Route to, Cause cause) {
  /** Why the tier changed. */
  public enum Cause {
    /** {@link Fallback.Builder#failuresBeforeFallback} rounds in a row on {@code from} failed to log in. */
    FAILED,
    /** A probe of the direct endpoints connected: back to them. */
    DIRECT_WORKS
  }
}
