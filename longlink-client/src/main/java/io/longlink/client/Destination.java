package io.longlink.client;

import io.longlink.protocol.FieldRule;
import io.longlink.protocol.TargetKind;

/** Where a message goes: one client's session, or every subscriber of a topic. */
public record Destination(TargetKind kind, String name) {
  public Destination {
    if (kind == null) {
      throw new IllegalArgumentException("kind: null (expected: CLIENT or TOPIC)");
    }
    (kind == TargetKind.CLIENT ? FieldRule.CLIENT_ID : FieldRule.TOPIC).require(name);
  }

  public static Destination client(String clientId) {
    return new Destination(TargetKind.CLIENT, clientId);
  }

  public static Destination topic(String topic) {
    return new Destination(TargetKind.TOPIC, topic);
  }

  @Override
  public String toString() {
    return (kind == TargetKind.CLIENT ? "client " : "topic ") + name;
  }
}
