package io.longlink.protocol;

import io.netty.buffer.ByteBuf;

/**
 * One thread's two most recently coded string fields (value, rule, UTF-8 bytes), found by value
 * when encoding and by bytes when decoding. A flow between two clients, or a message fanned out to
 * many sessions, repeats its target and sender in every frame: they are checked against their
 * rule, encoded or decoded once, and not allocated again per frame.
 */
final class RecentStrings {
  private static final ThreadLocal<RecentStrings> CURRENT = ThreadLocal.withInitial(RecentStrings::new);

  private final String[] values = new String[2];
  private final FieldRule[] rules = new FieldRule[2];
  private final byte[][] bytes = new byte[2][];
  /** The slot the next new entry replaces: the older of the two. */
  private int older;

  static RecentStrings current() {
    return CURRENT.get();
  }

  /** The UTF-8 bytes of {@code value} as last checked against {@code rule}, or null. */
  byte[] bytesOf(String value, FieldRule rule) {
    for (int i = 0; i < 2; i++) {
      if (rules[i] == rule && value.equals(values[i])) {
        return bytes[i];
      }
    }
    return null;
  }

  /** The string whose UTF-8 bytes are {@code length} bytes of {@code in} at {@code index}, checked against {@code rule}; or null. */
  String valueOf(ByteBuf in, int index, int length, FieldRule rule) {
    for (int i = 0; i < 2; i++) {
      if (rules[i] == rule && sameBytes(bytes[i], in, index, length)) {
        return values[i];
      }
    }
    return null;
  }

  /** Remembers a value that passed {@code rule}, with its UTF-8 bytes (not copied: never written to). */
  void remember(String value, FieldRule rule, byte[] utf8) {
    int slot = older;
    older = 1 - slot;
    values[slot] = value;
    rules[slot] = rule;
    bytes[slot] = utf8;
  }

  private static boolean sameBytes(byte[] b, ByteBuf in, int index, int length) {
    if (b.length != length) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (b[i] != in.getByte(index + i)) {
        return false;
      }
    }
    return true;
  }
}
