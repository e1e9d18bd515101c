package io.longlink.server;

import java.security.SecureRandom;

/** Unguessable session ids: 128 random bits as 32 lowercase hex digits. */
final class SessionIds {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private SessionIds() {}

  static String next() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    char[] out = new char[32];
    for (int i = 0; i < 16; i++) {
      out[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX[bytes[i] & 0xf];
    }
    return new String(out);
  }
}
