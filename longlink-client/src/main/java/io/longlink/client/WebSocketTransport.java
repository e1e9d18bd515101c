package io.longlink.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import java.net.URI;
import java.util.List;

/**
 * The longlink frames over WebSocket (docs/PROTOCOL.md 1.1), for the fallback tier on networks that
 * pass only HTTP(S): Netty's client upgrade to {@code longlink.v1}, then every binary message's
 * payload into the frame decoder as one byte stream, and each encoded frame out as one binary
 * message. The login starts when the upgrade completes (the pipeline fires {@link
 * WebSocketClientProtocolHandler.ClientHandshakeStateEvent#HANDSHAKE_COMPLETE}).
 */
final class WebSocketTransport {
  static final String SUBPROTOCOL = "longlink.v1";

  private WebSocketTransport() {}

  /** Adds the HTTP codec, the upgrade and the message framing to {@code p}, after TLS if any. */
  static void addTo(ChannelPipeline p, URI uri, int maxFrameSize, long handshakeTimeoutMillis) {
    WebSocketClientProtocolConfig config = WebSocketClientProtocolConfig.newBuilder()
        .webSocketUri(uri)
        .subprotocol(SUBPROTOCOL)
        .version(WebSocketVersion.V13)
        .customHeaders(new DefaultHttpHeaders())
        // The gateway puts several frames in one message: room for two of the largest.
        .maxFramePayloadLength(2 * maxFrameSize + 8)
        .handshakeTimeoutMillis(handshakeTimeoutMillis)
        .dropPongFrames(true)
        .generateOriginHeader(false) // a native client: no Origin (the gateway checks browsers only)
        .build();
    p.addLast(new HttpClientCodec(), new HttpObjectAggregator(8192), new WebSocketClientProtocolHandler(config),
        new Messages());
  }

  static boolean handshakeComplete(Object event) {
    return event == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE;
  }

  /** Binary (and continuation) payloads in, encoded frames out as binary messages; text is a protocol error. */
  static final class Messages extends MessageToMessageCodec<WebSocketFrame, ByteBuf> {
    @Override
    protected void encode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
      out.add(new BinaryWebSocketFrame(msg.retain()));
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, WebSocketFrame msg, List<Object> out) {
      if (msg instanceof BinaryWebSocketFrame || msg instanceof ContinuationWebSocketFrame) {
        out.add(msg.content().retain());
      } else {
        throw new CorruptedFrameException("a " + msg.getClass().getSimpleName()
            + " from the gateway (expected: binary messages only)");
      }
    }
  }

}
