package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
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

  @Override
  public void close() throws IOException {
    for (Socket s : clients) {
      s.close();
    }
    group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
