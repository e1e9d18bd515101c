package io.longlink.server;

import java.time.Instant;
import java.util.Objects;

/**
 * One online device of a user, as {@link LonglinkServer#presence} and {@code GET
 * /v1/presence/{principal}} show it: a session that logged in with a device id and whose connection
 * is up, or dropped less than the presence grace ago.
 *
 * @param principal the user (the authenticator's subject)
 * @param deviceId the device id from its HELLO
 * @param clientId the client id from its HELLO
 * @param sessionId the session
 * @param node the node holding it
 * @param since when it came online
 */
public record DevicePresence(String principal, String deviceId, String clientId, String sessionId, String node,
    Instant since) {
  public DevicePresence {
    Objects.requireNonNull(principal, "principal");
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(clientId, "clientId");
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(since, "since");
  }
}
