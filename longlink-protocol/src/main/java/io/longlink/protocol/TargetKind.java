package io.longlink.protocol;

/** What a DATA frame's {@code target} names. */
public enum TargetKind {
  /** A client id: the message goes to that client's session. */
  CLIENT(1),
  /** A topic: the message goes to every session subscribed to it. */
  TOPIC(2),
  /**
   * A principal (the authenticated user): the message goes to every session of that principal that
   * logged in with a device id, on every node, each in its own sequence (docs/PROTOCOL.md 5.7).
   */
  USER(3);

  private final int code;

  TargetKind(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The kind for a wire byte, or {@code null} if there is none. */
  public static TargetKind ofCode(int code) {
    switch (code) {
      case 1:
        return CLIENT;
      case 2:
        return TOPIC;
      case 3:
        return USER;
      default:
        return null;
    }
  }
}
