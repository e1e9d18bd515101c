package io.longlink.server.internal;

import io.longlink.server.WebSocketOptions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP part of a WebSocket connection: checks the upgrade request (path, {@code Upgrade},
 * origin, subprotocol, version), answers it, and then gives way to {@link WsFrames}. Until the
 * upgrade the connection behind it has seen no bytes; what it writes then can only be its
 * handshake-timeout error, which becomes {@code 408 Request Timeout} here. Every refusal is an HTTP
 * status with a one-line reason, counted by {@link WsFailure}, and a closed connection.
 */
final class WsUpgrade extends ChannelDuplexHandler {
  private static final Logger log = LoggerFactory.getLogger(WsUpgrade.class);

  private final WsListener listener;
  private boolean done;

  WsUpgrade(WsListener listener) {
    this.listener = listener;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (!done && msg instanceof FullHttpRequest req) {
        upgrade(ctx, req);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void upgrade(ChannelHandlerContext ctx, FullHttpRequest req) {
    WebSocketOptions o = listener.options;
    if (req.decoderResult().isFailure()) {
      refuse(ctx, WsFailure.BAD_UPGRADE, HttpResponseStatus.BAD_REQUEST, "malformed HTTP request: "
          + req.decoderResult().cause().getMessage());
      return;
    }
    if (!new QueryStringDecoder(req.uri()).path().equals(o.path())) {
      refuse(ctx, WsFailure.NOT_FOUND, HttpResponseStatus.NOT_FOUND, "no WebSocket endpoint at " + req.uri()
          + " (expected: " + o.path() + ")");
      return;
    }
    if (req.method() != HttpMethod.GET || !req.headers().containsValue(HttpHeaderNames.UPGRADE,
        HttpHeaderValues.WEBSOCKET, true)) {
      refuse(ctx, WsFailure.BAD_UPGRADE, HttpResponseStatus.UPGRADE_REQUIRED, req.method()
          + " without Upgrade: websocket (expected: a WebSocket upgrade, GET with Upgrade: websocket)");
      return;
    }
    String origin = req.headers().get(HttpHeaderNames.ORIGIN);
    if (origin != null && !o.allows(origin, listener.loopback)) {
      refuse(ctx, WsFailure.ORIGIN, HttpResponseStatus.FORBIDDEN, "origin " + origin + " not allowed");
      return;
    }
    String offered = req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL);
    if (offered != null && Arrays.stream(offered.split(",")).map(String::trim)
        .noneMatch(WebSocketOptions.SUBPROTOCOL::equals)) {
      refuse(ctx, WsFailure.SUBPROTOCOL, HttpResponseStatus.BAD_REQUEST, "subprotocols " + offered
          + " (expected: " + WebSocketOptions.SUBPROTOCOL + ")");
      return;
    }
    WebSocketServerHandshaker handshaker = listener.handshakers.newHandshaker(req);
    if (handshaker == null) {
      listener.counters.wsFailures.get(WsFailure.BAD_UPGRADE).increment();
      done = true;
      io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(
          ctx.channel()).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    done = true;
    // The handshaker puts the WebSocket codec where the HTTP codec is and removes the HTTP handlers
    // once the 101 is written; the frames adapter takes this handler's place in front of the connection.
    handshaker.handshake(ctx.channel(), req).addListener(f -> {
      if (!f.isSuccess()) {
        ctx.close();
      }
    });
    ctx.pipeline().replace(this, "ws", listener.frames);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof ByteBuf) { // the connection's handshake-timeout ERROR: the upgrade never came
      ReferenceCountUtil.release(msg);
      promise.trySuccess();
      if (!done) {
        refuse(ctx, WsFailure.TIMEOUT, HttpResponseStatus.REQUEST_TIMEOUT, "no WebSocket upgrade within the "
            + "handshake timeout");
      }
      return;
    }
    ctx.write(msg, promise);
  }

  private void refuse(ChannelHandlerContext ctx, WsFailure why, HttpResponseStatus status, String reason) {
    done = true;
    listener.counters.wsFailures.get(why).increment();
    log.debug("connection {}: WebSocket upgrade refused ({}): {}", ctx.channel().remoteAddress(), why.label(), reason);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(reason + "\n", StandardCharsets.UTF_8));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes())
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
  }
}
