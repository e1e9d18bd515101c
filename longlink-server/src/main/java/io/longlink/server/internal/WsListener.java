package io.longlink.server.internal;

import io.longlink.protocol.FrameCodec;
import io.longlink.server.WebSocketOptions;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;

/**
 * What a node's WebSocket connections share: the options, the handshaker factory, the one {@link
 * WsFrames}, and whether the listener binds a loopback address (which decides the origin default).
 * {@link #addHandlers} builds a new connection's pipeline in front of its {@link ServerConnection}.
 */
final class WsListener {
  /** Longest request line and header block of an upgrade request. */
  static final int MAX_REQUEST_LINE = 4096;
  static final int MAX_HEADERS = 8192;

  final WebSocketOptions options;
  final boolean loopback;
  final NodeCounters counters;
  final WsFrames frames;
  final WebSocketServerHandshakerFactory handshakers;

  WsListener(WebSocketOptions options, boolean loopback, int maxFrameSize, NodeCounters counters) {
    this.options = options;
    this.loopback = loopback;
    this.counters = counters;
    this.frames = new WsFrames(counters);
    // A client's WebSocket frame holds at most one longest longlink frame's bytes (docs/PROTOCOL.md);
    // masking is required of clients (RFC 6455), no extensions, no UTF-8 check (text closes anyway).
    WebSocketDecoderConfig decoder = WebSocketDecoderConfig.newBuilder()
        .maxFramePayloadLength(maxFrameSize + FrameCodec.LENGTH_FIELD_BYTES)
        .expectMaskedFrames(true).allowMaskMismatch(false).allowExtensions(false)
        .closeOnProtocolViolation(true).withUTF8Validator(false).build();
    this.handshakers = new WebSocketServerHandshakerFactory(options.path(), WebSocketOptions.SUBPROTOCOL, decoder);
  }

  /** The HTTP stage of a new connection; {@code connection} is added after it. */
  void addHandlers(Channel ch, ServerConnection connection) {
    ChannelPipeline p = ch.pipeline();
    p.addLast(new HttpServerCodec(MAX_REQUEST_LINE, MAX_HEADERS, MAX_HEADERS));
    p.addLast(new HttpObjectAggregator(MAX_HEADERS)); // an upgrade has no body; a body this big is refused
    p.addLast(new WsUpgrade(this));
    p.addLast(connection);
  }
}
