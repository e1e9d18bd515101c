package io.longlink.protocol;

/**
 * A source of monotonic nanoseconds. Everything time-based in longlink (heartbeats, timeouts,
 * backoff) reads time through one, so tests can advance a fake clock instead of waiting.
 * Compare readings by subtraction ({@code a - b > 0}), never directly: the origin is arbitrary.
 */
@FunctionalInterface
public interface Ticker {
  long nanoTime();

  /** {@link System#nanoTime()}. */
  static Ticker system() {
    return System::nanoTime;
  }
}
