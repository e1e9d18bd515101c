package io.longlink.client;

/** The fallback tiers a client connects through, best first ({@link Fallback}). */
public enum Route {
  /** The endpoints the client was built with. */
  DIRECT,
  /** The same hosts on the gateway's alternative ports ({@code --alt-port}, e.g. 443). */
  ALTERNATIVE_PORT,
  /** Relays ({@code longlink relay}) that forward to gateway nodes. */
  RELAY
}
