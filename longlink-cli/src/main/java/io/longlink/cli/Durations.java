package io.longlink.cli;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses {@code 100us}, {@code 250ms}, {@code 30s}, {@code 2m}, {@code 1h} and ISO-8601 ({@code PT30S}). */
public final class Durations {
  private static final Pattern SIMPLE = Pattern.compile("(\\d+)\\s*(us|ms|s|m|h)");

  private Durations() {}

  /** The duration {@code text} says; IllegalArgumentException naming it if it says none. */
  public static Duration parse(String text) {
    String t = text.trim().toLowerCase();
    Matcher m = SIMPLE.matcher(t);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      switch (m.group(2)) {
        case "us":
          return Duration.ofNanos(n * 1000);
        case "ms":
          return Duration.ofMillis(n);
        case "s":
          return Duration.ofSeconds(n);
        case "m":
          return Duration.ofMinutes(n);
        default:
          return Duration.ofHours(n);
      }
    }
    try {
      return Duration.parse(text.trim().toUpperCase());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("duration: '" + text + "' (expected: e.g. 100us, 250ms, 30s, 2m, 1h or PT30S)");
    }
  }

  /** {@code d} in the shortest of these forms that is exact: 100us, 250ms, 30s. */
  public static String format(Duration d) {
    if (d.toNanos() % 1_000_000 != 0) {
      return d.toNanos() / 1000 + "us";
    }
    long ms = d.toMillis();
    if (ms % 1000 != 0) {
      return ms + "ms";
    }
    return (ms / 1000) + "s";
  }
}
