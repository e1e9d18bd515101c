package io.longlink.protocol;

import io.netty.buffer.ByteBufUtil;

/**
 * Length and character rules of the protocol's string fields (docs/PROTOCOL.md section 2). The
 * codec applies them on both encode and decode; servers and clients use them to validate
 * identifiers before anything reaches the wire.
 */
public enum FieldRule {
  CLIENT_ID("clientId", 1, 128, true),
  TOPIC("topic", 1, 256, true),
  TOKEN("token", 0, 4096, false),
  SESSION_ID("sessionId", 0, 64, false),
  /** HELLO's {@code deviceId} (version 3): empty, or the device's name among its principal's. */
  DEVICE_ID("deviceId", 0, 64, true),
  TEXT("text", 0, 1024, false),
  /** DATA's {@code from}: empty, or a client id. */
  SENDER("from", 0, 128, true),
  /** REQUEST's {@code target}: empty (the gateway), or a client id. */
  REQUEST_TARGET("target", 0, 128, true);

  private final String field;
  private final String lengthField;
  private final int minBytes;
  private final int maxBytes;
  private final boolean noControlChars;

  FieldRule(String field, int minBytes, int maxBytes, boolean noControlChars) {
    this.field = field;
    this.lengthField = field + " length";
    this.minBytes = minBytes;
    this.maxBytes = maxBytes;
    this.noControlChars = noControlChars;
  }

  /** The field's name as error messages and docs/PROTOCOL.md spell it. */
  public String fieldName() {
    return field;
  }

  /** The name of the field's length prefix in error messages. */
  String lengthFieldName() {
    return lengthField;
  }

  /** Largest UTF-8 length this field may have. */
  public int maxBytes() {
    return maxBytes;
  }

  /**
   * Why {@code value} breaks this rule, as a message naming the value and what was expected; or
   * {@code null} if it is fine.
   */
  public String violation(String value) {
    if (value == null) {
      return field + ": null (expected: a string)";
    }
    int bytes = ByteBufUtil.utf8Bytes(value);
    return violation(value, bytes);
  }

  String violation(String value, int utf8Bytes) {
    if (utf8Bytes < minBytes || utf8Bytes > maxBytes) {
      return field + ": " + utf8Bytes + " UTF-8 bytes (expected: " + minBytes + ".." + maxBytes + ")";
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (noControlChars && (c < 0x20 || c == 0x7f)) {
        return field + ": control character U+" + String.format("%04X", (int) c) + " at index " + i
            + " (expected: none)";
      }
      if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return field + ": unpaired surrogate U+" + String.format("%04X", (int) c) + " at index " + i
            + " (expected: text that UTF-8 can encode)";
      }
    }
    return null;
  }

  /** Returns {@code value}, or throws {@link IllegalArgumentException} naming what is wrong. */
  public String require(String value) {
    String v = violation(value);
    if (v != null) {
      throw new IllegalArgumentException(v);
    }
    return value;
  }
}
