package io.longlink.server.internal;

import java.util.Locale;

/** Why a WebSocket connection was refused or closed by the gateway, as counted by {@code longlink_ws_failures_total{reason}}. */
public enum WsFailure {
  /** Not a WebSocket upgrade: another method, no {@code Upgrade: websocket}, an unsupported version, a malformed request. */
  BAD_UPGRADE,
  /** An upgrade for another path than the listener's. */
  NOT_FOUND,
  /** A browser page from an origin the listener does not allow. */
  ORIGIN,
  /** The client offered subprotocols, none of them longlink's. */
  SUBPROTOCOL,
  /** The upgrade did not complete within the handshake timeout (a slow or stalled request). */
  TIMEOUT,
  /** A text message: longlink frames travel in binary messages only. */
  TEXT,
  /** A WebSocket frame larger than the largest longlink frame allows. */
  TOO_LARGE,
  /** A broken WebSocket frame: unmasked, a bad opcode or length, a reserved bit set. */
  PROTOCOL;

  /** The Prometheus label value. */
  String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
