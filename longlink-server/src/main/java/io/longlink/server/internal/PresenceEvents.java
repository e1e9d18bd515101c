package io.longlink.server.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.longlink.server.DeviceOptions;
import io.longlink.server.DevicePresence;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Presence events as subscribers of the presence topic get them (docs/PROTOCOL.md 5.7): a DATA from
 * the gateway ({@code from} empty) on {@link DeviceOptions#presenceTopicOf}, whose payload is one
 * JSON object: {@code {"event":"online"|"offline","principal","device","clientId","sessionId",
 * "node","since","at"}} (times in Unix milliseconds). Thread-safe.
 */
final class PresenceEvents {
  private static final ObjectMapper JSON = new ObjectMapper();

  enum Kind {
    ONLINE,
    OFFLINE
  }

  /** An event to publish: where, and what. */
  record Event(String topic, byte[] payload) {}

  private final DeviceOptions options;

  PresenceEvents(DeviceOptions options) {
    this.options = options;
  }

  /** The event for {@code p} going {@code kind} at {@code atMillis}; null when presence events are off. */
  Event event(Kind kind, DevicePresence p, long atMillis) {
    if (options.presenceTopic().isEmpty()) {
      return null;
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("event", kind == Kind.ONLINE ? "online" : "offline");
    m.put("principal", p.principal());
    m.put("device", p.deviceId());
    m.put("clientId", p.clientId());
    m.put("sessionId", p.sessionId());
    m.put("node", p.node());
    m.put("since", p.since().toEpochMilli());
    m.put("at", atMillis);
    try {
      return new Event(options.presenceTopicOf(p.principal()), JSON.writeValueAsBytes(m));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e); // a map of strings and numbers always serialises
    }
  }

  /** The presence of a device session held here. */
  static DevicePresence of(Devices.Device d, String node) {
    Session s = d.session;
    return new DevicePresence(d.principal, s.deviceId(), s.clientId(), s.id().toString(), node,
        Instant.ofEpochMilli(d.sinceMillis));
  }
}
