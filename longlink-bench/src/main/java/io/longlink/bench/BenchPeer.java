package io.longlink.bench;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * A blocking protocol peer for benchmarks that need to drop a connection without CLOSE and measure
 * a resume from the first byte: no reconnect logic in the way.
 */
final class BenchPeer implements AutoCloseable {
  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  BenchPeer(InetSocketAddress address) throws IOException {
    socket = new Socket();
    socket.setTcpNoDelay(true);
    socket.connect(address, 5000);
    socket.setSoTimeout(30_000);
    in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
    out = socket.getOutputStream();
  }

  void send(Frame f) throws IOException {
    ByteBuf b = Unpooled.buffer();
    FrameCodec.encode(f, b);
    out.write(b.array(), b.arrayOffset() + b.readerIndex(), b.readableBytes());
    out.flush();
  }

  Frame read() throws IOException {
    byte[] body = new byte[in.readInt()];
    in.readFully(body);
    return FrameCodec.decode(Unpooled.wrappedBuffer(body));
  }

  /** Drops the connection without CLOSE: the session stays on the server, detached. */
  void drop() throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
