package io.longlink.protocol;

/** The frame types of protocol versions 1 and 2 (docs/PROTOCOL.md section 4; HEARTBEAT is version 2's). */
public enum FrameType {
  HELLO(0x01),
  WELCOME(0x02),
  PING(0x03),
  PONG(0x04),
  HEARTBEAT(0x05),
  DATA(0x10),
  ACK(0x11),
  SUBSCRIBE(0x12),
  UNSUBSCRIBE(0x13),
  GAP(0x14),
  REJECT(0x15),
  REQUEST(0x30),
  RESPONSE(0x31),
  CANCEL(0x32),
  GOAWAY(0x20),
  ERROR(0x21),
  CLOSE(0x22),
  REAUTH(0x23),
  AUTH(0x24);

  private static final FrameType[] BY_CODE = new FrameType[256];

  static {
    for (FrameType t : values()) {
      BY_CODE[t.code] = t;
    }
  }

  private final int code;

  FrameType(int code) {
    this.code = code;
  }

  /** The type byte on the wire. */
  public int code() {
    return code;
  }

  /** The type for a wire byte, or {@code null} if version 1 has no such type. */
  public static FrameType ofCode(int code) {
    return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
  }
}
