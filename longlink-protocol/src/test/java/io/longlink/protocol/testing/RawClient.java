package io.longlink.protocol.testing;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * A blocking, byte-level protocol peer for tests: sends frames or arbitrary bytes over a real
 * socket and reads frames back, so tests can speak the protocol (and break it) without the SDK.
 */
public final class RawClient implements AutoCloseable {
  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  private RawClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  public static RawClient connect(InetSocketAddress address) throws IOException {
    return connect(address, null);
  }

  /** Connects from {@code source} (e.g. 127.0.0.2, to look like another client address). */
  public static RawClient connect(InetSocketAddress address, java.net.InetAddress source) throws IOException {
    Socket s = new Socket();
    if (source != null) {
      s.bind(new InetSocketAddress(source, 0));
    }
    s.setTcpNoDelay(true);
    s.connect(address, 5000);
    s.setSoTimeout(10_000);
    return new RawClient(s);
  }

  /** Connects and completes a HELLO/WELCOME handshake for a new session. */
  public static RawClient login(InetSocketAddress address, String clientId) throws IOException {
    RawClient c = connect(address);
    c.send(Frame.Hello.newSession(clientId, ""));
    Frame f = c.read();
    if (!(f instanceof Frame.Welcome)) {
      c.close();
      throw new IOException("expected WELCOME, got " + f);
    }
    return c;
  }

  public void send(Frame frame) throws IOException {
    ByteBuf buf = Unpooled.buffer();
    FrameCodec.encode(frame, buf);
    byte[] bytes = new byte[buf.readableBytes()];
    buf.readBytes(bytes);
    sendBytes(bytes);
  }

  public void sendBytes(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** Reads the next frame, waiting up to the socket timeout (10 s unless changed). */
  public Frame read() throws IOException {
    int length = in.readInt();
    byte[] body = new byte[length];
    in.readFully(body);
    return FrameCodec.decode(Unpooled.wrappedBuffer(body));
  }

  /** Reads frames until one of {@code type} arrives, skipping others (e.g. ACKs, PONGs). */
  public <T extends Frame> T readUntil(Class<T> type) throws IOException {
    while (true) {
      Frame f = read();
      if (type.isInstance(f)) {
        return type.cast(f);
      }
    }
  }

  /** Reads until an ACK covering {@code seq} arrives, skipping everything else. */
  public Frame.Ack readAckOf(long seq) throws IOException {
    while (true) {
      Frame.Ack a = readUntil(Frame.Ack.class);
      if (a.seq() >= seq) {
        return a;
      }
    }
  }

  /**
   * Waits until the peer closes the connection, discarding what arrives; true if it closed within
   * {@code timeout}, false if it was still open.
   */
  public boolean awaitClosed(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    try {
      while (in.read() >= 0) {
        // discard
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (EOFException e) {
      return true;
    } catch (IOException e) {
      return true; // reset by peer counts as closed
    }
  }

  public void setReadTimeout(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
  }

  public Socket socket() {
    return socket;
  }

  /** Closes with a TCP RST instead of a FIN: what a killed process or a pulled cable looks like to the peer. */
  public void abort() throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
