package io.longlink.server.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Between Netty's WebSocket codec and the {@link ServerConnection}: the bytes of binary messages
 * (and their continuations) go up as the same byte stream a TCP connection reads, whatever the
 * message boundaries; what the connection writes goes down as binary messages (each holds whole
 * frames). Pings are answered, a text message closes with 1003, a close is answered and closes.
 * Stateless: one instance serves all of a node's WebSocket connections, which therefore cost only
 * the codec and this handler's context beyond a TCP connection.
 */
@ChannelHandler.Sharable
final class WsFrames extends ChannelDuplexHandler {
  private final NodeCounters counters;

  WsFrames(NodeCounters counters) {
    this.counters = counters;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof BinaryWebSocketFrame || msg instanceof ContinuationWebSocketFrame) {
      ctx.fireChannelRead(((WebSocketFrame) msg).content()); // the connection releases it
    } else if (msg instanceof PingWebSocketFrame ping) {
      ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
    } else if (msg instanceof TextWebSocketFrame) {
      ReferenceCountUtil.release(msg);
      counters.wsFailures.get(WsFailure.TEXT).increment();
      close(ctx, WebSocketCloseStatus.INVALID_MESSAGE_TYPE, "longlink frames travel in binary messages");
    } else if (msg instanceof CloseWebSocketFrame c) {
      int code = c.statusCode();
      c.release();
      close(ctx, code > 0 ? new WebSocketCloseStatus(code, "bye") : WebSocketCloseStatus.NORMAL_CLOSURE, "");
    } else {
      ReferenceCountUtil.release(msg); // pong
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    ctx.write(msg instanceof ByteBuf b ? new BinaryWebSocketFrame(b) : msg, promise);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof CorruptedWebSocketFrameException e) {
      // The decoder has sent its close frame (1009 or 1002) and closes; counted here, not an I/O error.
      counters.wsFailures.get(e.closeStatus() != null
          && e.closeStatus().code() == WebSocketCloseStatus.MESSAGE_TOO_BIG.code()
          ? WsFailure.TOO_LARGE : WsFailure.PROTOCOL).increment();
      ctx.close();
      return;
    }
    ctx.fireExceptionCaught(cause);
  }

  private static void close(ChannelHandlerContext ctx, WebSocketCloseStatus status, String reason) {
    ctx.writeAndFlush(new CloseWebSocketFrame(status.code(), reason)).addListener(ChannelFutureListener.CLOSE);
  }
}
