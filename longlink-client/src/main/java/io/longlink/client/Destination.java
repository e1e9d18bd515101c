package io.longlink.client;

import io.longlink.protocol.FieldRule;
import io.longlink.protocol.TargetKind;

/**
 * Where a message goes: one client's session, every subscriber of a topic, or every device of a
 * user (the sessions of that principal that logged in with a device id, on any node).
 */
public record Destination(TargetKind kind, String name) {
  public Destination {
    if (kind == null) {
      throw new IllegalArgumentException("kind: null (expected: CLIENT, TOPIC or USER)");
    }
    (kind == TargetKind.TOPIC ? FieldRule.TOPIC : FieldRule.CLIENT_ID).require(name);
  }

  public static Destination client(String clientId) {
    return new Destination(TargetKind.CLIENT, clientId);
  }

  public static Destination topic(String topic) {
    return new Destination(TargetKind.TOPIC, topic);
  }

  /** Every device of the user {@code principal} (as the gateway's authenticator names it). */
  public static Destination user(String principal) {
    return new Destination(TargetKind.USER, principal);
  }

  @Override
  public String toString() {
    return switch (kind) {
      case CLIENT -> "client ";
      case TOPIC -> "topic ";
      case USER -> "user ";
    } + name;
  }
}
