package io.longlink.server;

import io.longlink.protocol.TargetKind;

/**
 * The application's hook on every message a client sends. Called on the sender's event loop, in
 * the sender's order, before routing; it must not block.
 */
@FunctionalInterface
public interface MessageHandler {

  /**
   * @return {@code true} to let the gateway route the message to its target, {@code false} if the
   *     application consumed it. Either way the sender gets its acknowledgement.
   */
  boolean onMessage(InboundMessage message);

  /** Routes every message; the default (the gateway then skips building {@link InboundMessage}s). */
  static MessageHandler routeAll() {
    return RouteAll.INSTANCE;
  }

  /** One message as a client sent it; {@code from} is the authenticated client id. */
  record InboundMessage(String from, String sessionId, TargetKind targetKind, String target, byte[] payload) {}

  /** The default handler, recognised by identity. */
  final class RouteAll implements MessageHandler {
    static final RouteAll INSTANCE = new RouteAll();

    private RouteAll() {}

    @Override
    public boolean onMessage(InboundMessage message) {
      return true;
    }
  }
}
