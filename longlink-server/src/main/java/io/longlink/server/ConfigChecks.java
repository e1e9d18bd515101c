package io.longlink.server;

/** The one way config records reject a value: a message naming the field, the value and what was expected. */
final class ConfigChecks {
  private ConfigChecks() {}

  static void check(boolean ok, String name, Object value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: " + expected + ")");
    }
  }
}
