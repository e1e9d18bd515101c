package io.longlink.server;

import io.longlink.protocol.Frame;
import io.longlink.protocol.Ticker;
import io.longlink.protocol.TargetKind;
import java.util.concurrent.atomic.LongAdder;

/**
 * What every connection of a node shares: settings, plug-ins, the session and topic registries,
 * and routing between them. Thread-safe.
 */
final class Gateway {
  final ServerConfig config;
  final Authenticator authenticator;
  final MessageHandler messageHandler;
  final Ticker ticker;
  final SessionRegistry sessions = new SessionRegistry();
  final TopicRegistry topics = new TopicRegistry();
  final long deadPeerTimeoutNanos;
  final long handshakeTimeoutNanos;
  /** Messages to a client id with no session. */
  final LongAdder undeliverable = new LongAdder();
  /** Open connections, handshaking or not. */
  final LongAdder connections = new LongAdder();

  Gateway(ServerConfig config, Authenticator authenticator, MessageHandler messageHandler, Ticker ticker) {
    this.config = config;
    this.authenticator = authenticator;
    this.messageHandler = messageHandler;
    this.ticker = ticker;
    this.deadPeerTimeoutNanos = config.deadPeerTimeout().toNanos();
    this.handshakeTimeoutNanos = config.handshakeTimeout().toNanos();
  }

  /**
   * Delivers a message to a client's session or to a topic's subscribers.
   *
   * @param from sender's client id, empty for the backend
   * @return how many sessions it was handed to
   */
  int route(String from, TargetKind kind, String target, byte[] payload) {
    Frame.Data message = new Frame.Data(0, kind, target, from, payload);
    if (kind == TargetKind.CLIENT) {
      Session s = sessions.get(target);
      if (s != null && s.deliver(message)) {
        return 1;
      }
      undeliverable.increment();
      return 0;
    }
    int n = 0;
    for (Session s : topics.subscribers(target)) {
      if (s.deliver(message)) {
        n++;
      }
    }
    return n;
  }
}
