package io.longlink.server.internal;

import java.security.SecureRandom;

/**
 * Unguessable session ids: 128 random bits, kept as two longs (a 32-character string would cost
 * about 48 bytes more per session) and shown as 32 lowercase hex digits on the wire.
 */
record SessionIds(long hi, long lo) {
  private static final SecureRandom RANDOM = new SecureRandom();

  static SessionIds next() {
    return new SessionIds(RANDOM.nextLong(), RANDOM.nextLong());
  }

  /** The id for its 32-hex-digit form, or {@code null} if {@code text} is not one. */
  static SessionIds parse(String text) {
    if (text.length() != 32) {
      return null;
    }
    for (int i = 0; i < 32; i++) {
      char c = text.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
        return null; // only the form we issue: no sign, no upper case
      }
    }
    try {
      return new SessionIds(Long.parseUnsignedLong(text.substring(0, 16), 16),
          Long.parseUnsignedLong(text.substring(16), 16));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @Override
  public String toString() {
    return hex(hi) + hex(lo);
  }

  private static String hex(long v) {
    String s = Long.toHexString(v);
    return "0".repeat(16 - s.length()) + s;
  }
}
