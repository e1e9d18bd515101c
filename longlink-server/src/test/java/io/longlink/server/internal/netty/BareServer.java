package io.longlink.server.internal.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A bare Netty server on one event loop for tests of what the gateway does to Netty's own channels:
 * each accepted channel goes through {@code init}, and {@link #connect} returns the server side of a
 * new client socket.
 */
final class BareServer implements AutoCloseable {
  private final EventLoopGroup group;
  private final BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
  private final List<Socket> clients = new ArrayList<>();
  final int port;

  BareServer(IoHandlerFactory io, Class<? extends ServerChannel> server, String bindHost, Consumer<Channel> init) {
    group = new MultiThreadIoEventLoopGroup(1, io);
    Channel listener = new ServerBootstrap().group(group).channel(server)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            init.accept(ch);
            accepted.add(ch);
          }
        })
        .bind(new InetSocketAddress(bindHost, 0)).syncUninterruptibly().channel();
    port = ((InetSocketAddress) listener.localAddress()).getPort();
  }

  /** A client socket to {@code host}; the server's channel for it, once accepted. */
  Channel connect(String host) throws IOException, InterruptedException {
    Socket s = new Socket(host, port);
    s.setSoTimeout(10_000);
    clients.add(s);
    Channel ch = accepted.poll(10, TimeUnit.SECONDS);
    assertThat(ch).as("accepted within 10 s").isNotNull();
    return ch;
  }

  /** The {@code i}th client socket. */
  Socket client(int i) {
    return clients.get(i);
  }

  /**
   * Sends {@code text} and a newline on the {@code i}th client and reads back as many bytes (for a
   * server that echoes; the sending runs on its own thread, so a text larger than the socket
   * buffers cannot block both sides).
   */
  String echo(int i, String text) throws IOException, InterruptedException {
    Socket client = client(i);
    byte[] out = (text + "\n").getBytes(StandardCharsets.US_ASCII);
    Thread writer = Thread.ofVirtual().start(() -> {
      try {
        client.getOutputStream().write(out);
        client.getOutputStream().flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    byte[] back = client.getInputStream().readNBytes(out.length);
    writer.join(10_000);
    return new String(back, 0, back.length - 1, StandardCharsets.US_ASCII);
  }

  /** A handler for every channel that writes back what it reads. */
  static ChannelHandler echo() {
    return ECHO;
  }

  private static final ChannelHandler ECHO = new Echo();

  @ChannelHandler.Sharable
  private static final class Echo extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ctx.writeAndFlush(msg);
    }
  }

  @Override
  public void close() throws IOException {
    for (Socket s : clients) {
      s.close();
    }
    group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
