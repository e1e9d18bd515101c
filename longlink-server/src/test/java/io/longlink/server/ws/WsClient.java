package io.longlink.server.ws;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.FrameDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A raw-protocol client over the JDK's WebSocket: frames in binary messages, whatever the message boundaries. */
final class WsClient implements AutoCloseable {
  final WebSocket ws;
  final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
  final CompletableFuture<Integer> closeCode = new CompletableFuture<>();
  final BlockingQueue<ByteBuffer> pongs = new LinkedBlockingQueue<>();
  private final ByteBuf stream = Unpooled.buffer();

  private WsClient(URI uri, String subprotocol) {
    WebSocket.Builder b = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
    if (subprotocol != null) {
      b.subprotocols(subprotocol);
    }
    this.ws = b.buildAsync(uri, new WebSocket.Listener() {
      @Override
      public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
        synchronized (stream) {
          stream.writeBytes(data);
          for (Frame f; (f = FrameDecoder.decodeOne(stream, FrameCodec.DEFAULT_MAX_FRAME_SIZE)) != null; ) {
            frames.add(f);
          }
          stream.discardReadBytes();
        }
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onPong(WebSocket w, ByteBuffer message) {
        pongs.add(message);
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket w, int statusCode, String reason) {
        closeCode.complete(statusCode);
        return null;
      }

      @Override
      public void onError(WebSocket w, Throwable error) {
        closeCode.complete(-1);
      }
    }).join();
  }

  static WsClient connect(java.net.InetSocketAddress at) {
    return new WsClient(URI.create("ws://127.0.0.1:" + at.getPort() + "/longlink"), "longlink.v1");
  }

  void send(Frame... fs) {
    ByteBuf b = Unpooled.buffer();
    for (Frame f : fs) {
      FrameCodec.encode(f, b);
    }
    byte[] bytes = new byte[b.readableBytes()];
    b.readBytes(bytes).release();
    ws.sendBinary(ByteBuffer.wrap(bytes), true).join();
  }

  Frame read() throws InterruptedException, IOException {
    Frame f = frames.poll(10, TimeUnit.SECONDS);
    if (f == null) {
      throw new IOException("no frame within 10 s");
    }
    return f;
  }

  <T extends Frame> T readUntil(Class<T> type) throws InterruptedException, IOException {
    while (true) {
      Frame f = read();
      if (type.isInstance(f)) {
        return type.cast(f);
      }
    }
  }

  @Override
  public void close() {
    ws.abort();
  }
}
