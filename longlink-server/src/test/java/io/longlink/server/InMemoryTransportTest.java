package io.longlink.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.SessionStatus;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The gateway on Netty's in-JVM local channels: same pipeline and sessions, no sockets. */
class InMemoryTransportTest {

  @Test
  void clientsLogInAndReceiveOverLocalChannels() throws Exception {
    EventLoopGroup clients = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
    try (LonglinkServer server = LonglinkServer.builder()
        .config(ServerConfig.builder().transport(ServerConfig.Transport.IN_MEMORY).port(0).build()).build().start()) {
      assertThatThrownBy(server::localAddress).hasMessageContaining("in-memory");
      BlockingQueue<Frame> received = new LinkedBlockingQueue<>();
      Channel ch = new Bootstrap().group(clients).channel(LocalChannel.class)
          .handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
              ByteBuf buf = (ByteBuf) msg;
              try {
                buf.skipBytes(4);
                received.add(FrameCodec.decode(buf));
              } finally {
                buf.release();
              }
            }
          }).connect(server.boundAddress()).sync().channel();
      ch.writeAndFlush(FrameCodec.encode(ch.alloc(), Frame.Hello.newSession("bob", "")));
      Frame.Welcome w = (Frame.Welcome) received.poll(5, TimeUnit.SECONDS);
      assertThat(w.sessionStatus()).isEqualTo(SessionStatus.NEW);
      assertThat(server.stats().sessions()).isEqualTo(1);
      server.publishToClient("bob", "hi".getBytes(StandardCharsets.UTF_8));
      Frame.Data d = (Frame.Data) received.poll(5, TimeUnit.SECONDS);
      assertThat(new String(d.payload(), StandardCharsets.UTF_8)).isEqualTo("hi");
      ch.close().sync();
      await().until(() -> server.stats().connections() == 0 && server.stats().detachedSessions() == 1);
    } finally {
      clients.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }
}
