package io.longlink.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.net.URI;

/**
 * The load generator's WebSocket client: Netty's upgrade and codec, then binary messages carried as
 * the byte stream the raw-protocol handlers read and write (docs/PROTOCOL.md 1.1). One instance for
 * all connections.
 */
@ChannelHandler.Sharable
final class WsBridge extends ChannelDuplexHandler {
  private static final WsBridge INSTANCE = new WsBridge();

  /** Adds the upgrade to {@code uri} and this bridge; the raw-protocol handler goes after them. */
  static void addTo(ChannelPipeline p, String uri) {
    p.addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
        new WebSocketClientProtocolHandler(WebSocketClientProtocolConfig.newBuilder().webSocketUri(URI.create(uri))
            .subprotocol("longlink.v1").maxFramePayloadLength(16 << 20).handshakeTimeoutMillis(30_000).build()),
        INSTANCE);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof BinaryWebSocketFrame || msg instanceof io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame) {
      ctx.fireChannelRead(((WebSocketFrame) msg).content());
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    ctx.write(msg instanceof ByteBuf b ? new BinaryWebSocketFrame(b) : msg, promise);
  }
}
