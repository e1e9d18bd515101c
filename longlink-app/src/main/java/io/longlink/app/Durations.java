package io.longlink.app;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses {@code 250ms}, {@code 30s}, {@code 2m}, {@code 1h} and ISO-8601 ({@code PT30S}). */
final class Durations {
  private static final Pattern SIMPLE = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

  private Durations() {}

  static Duration parse(String text) {
    String t = text.trim().toLowerCase();
    Matcher m = SIMPLE.matcher(t);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      switch (m.group(2)) {
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
      throw new IllegalArgumentException("duration: '" + text + "' (expected: e.g. 250ms, 30s, 2m, 1h or PT30S)");
    }
  }

  static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 1000 != 0) {
      return ms + "ms";
    }
    return (ms / 1000) + "s";
  }
}
