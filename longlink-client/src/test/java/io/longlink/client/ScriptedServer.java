package io.longlink.client;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.SessionStatus;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** A listening socket on loopback where the test plays the gateway, frame by frame. */
final class ScriptedServer implements AutoCloseable {
  final ServerSocket listener;

  ScriptedServer() throws IOException {
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
  }

  int port() {
    return listener.getLocalPort();
  }

  Peer accept() throws IOException {
    listener.setSoTimeout(10_000);
    Socket s = listener.accept();
    s.setSoTimeout(10_000);
    return new Peer(s);
  }

  @Override
  public void close() throws IOException {
    listener.close();
  }

  /** One accepted client connection. */
  static final class Peer implements AutoCloseable {
    final Socket socket;
    final DataInputStream in;
    final OutputStream out;

    Peer(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new DataInputStream(socket.getInputStream());
      this.out = socket.getOutputStream();
    }

    Frame read() throws IOException {
      byte[] body = new byte[in.readInt()];
      in.readFully(body);
      return FrameCodec.decode(Unpooled.wrappedBuffer(body));
    }

    <T extends Frame> T readUntil(Class<T> type) throws IOException {
      while (true) {
        Frame f = read();
        if (type.isInstance(f)) {
          return type.cast(f);
        }
      }
    }

    void send(Frame... frames) throws IOException {
      ByteBuf b = Unpooled.buffer();
      for (Frame f : frames) {
        FrameCodec.encode(f, b);
      }
      byte[] bytes = new byte[b.readableBytes()];
      b.readBytes(bytes);
      out.write(bytes);
      out.flush();
    }

    void welcome(String sessionId, SessionStatus status, long lastReceived, long lost, int heartbeatMs) throws IOException {
      send(new Frame.Welcome(1, sessionId, status, lastReceived, lost, heartbeatMs, 3, 1 << 20, 10, 20, 60_000));
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
