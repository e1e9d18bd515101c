package io.longlink.protocol;

/** The WELCOME frame's verdict on the session the client asked for. */
public enum SessionStatus {
  /** A fresh session; the client asked for none to be resumed. */
  NEW(0),
  /** The session named in HELLO continues; replay follows. */
  RESUMED(1),
  /** A resume was asked but the server no longer has that session: this is a fresh one. */
  LOST(2);

  private final int code;

  SessionStatus(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The status for a wire byte, or {@code null} if there is none. */
  public static SessionStatus ofCode(int code) {
    for (SessionStatus s : values()) {
      if (s.code == code) {
        return s;
      }
    }
    return null;
  }
}
