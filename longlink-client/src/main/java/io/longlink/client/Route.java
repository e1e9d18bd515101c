package io.longlink.client;

/** The fallback tiers a client connects through, best first ({@link Fallback}). */
public enum Route {
  /** The endpoints the client was built with. */
  DIRECT,
  /** The same hosts on the gateway's alternative ports ({@code --alt-port}, e.g. 443). */
  ALTERNATIVE_PORT,
  /** WebSocket ({@code ws://} or {@code wss://}, e.g. on 443) for networks that pass only HTTP(S). */
  WEBSOCKET,
  /** Relays ({@code longlink relay}) that forward to gateway nodes. */
  RELAY
}
