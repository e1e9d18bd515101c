package io.longlink.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.SessionStatus;
import io.longlink.protocol.TargetKind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client against a scripted peer on a real loopback socket: the test plays the server. */
class ClientAgainstScriptedServerTest {
  ServerSocket listener;
  Socket peer;
  DataInputStream in;
  OutputStream out;
  final List<ReceivedMessage> received = new CopyOnWriteArrayList<>();
  final List<String> transitions = new CopyOnWriteArrayList<>();
  final CompletableFuture<Throwable> lost = new CompletableFuture<>();
  LonglinkClient client;

  @BeforeEach
  void listen() throws IOException {
    listener = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
    client = LonglinkClient.builder()
        .endpoint("127.0.0.1", listener.getLocalPort())
        .clientId("alice")
        .connectTimeout(Duration.ofSeconds(5))
        .listener(new ClientListener() {
          @Override
          public void onMessage(ReceivedMessage m) {
            received.add(m);
          }

          @Override
          public void onStateChanged(ClientState previous, ClientState current, Throwable cause) {
            transitions.add(previous + "->" + current);
            if (current == ClientState.DISCONNECTED) {
              lost.complete(cause);
            }
          }
        })
        .build();
  }

  @AfterEach
  void tearDown() throws IOException {
    client.close();
    if (peer != null) {
      peer.close();
    }
    listener.close();
  }

  CompletableFuture<Void> acceptAndReadHello() throws IOException {
    CompletableFuture<Void> connected = client.connect();
    peer = listener.accept();
    peer.setSoTimeout(10_000);
    in = new DataInputStream(peer.getInputStream());
    out = peer.getOutputStream();
    assertThat(read()).isEqualTo(Frame.Hello.newSession("alice", ""));
    return connected;
  }

  void welcome(int heartbeatMs, int misses) throws IOException {
    send(new Frame.Welcome(1, "s1", SessionStatus.NEW, 0, 0, heartbeatMs, misses, 1 << 20, 1000, 60_000, 0));
  }

  void send(Frame f) throws IOException {
    ByteBuf b = Unpooled.buffer();
    FrameCodec.encode(f, b);
    byte[] bytes = new byte[b.readableBytes()];
    b.readBytes(bytes);
    out.write(bytes);
    out.flush();
  }

  Frame read() throws IOException {
    byte[] body = new byte[in.readInt()];
    in.readFully(body);
    return FrameCodec.decode(Unpooled.wrappedBuffer(body));
  }

  @Test
  void pingsAtTheServersIntervalAndDeclaresASilentServerDead() throws Exception {
    CompletableFuture<Void> connected = acceptAndReadHello();
    welcome(100, 3);
    connected.get(5, TimeUnit.SECONDS);
    assertThat(client.sessionId()).isEqualTo("s1");
    Frame.Ping ping = (Frame.Ping) read();
    send(new Frame.Pong(ping.timestamp()));
    await().until(() -> client.lastRtt() != null);
    // From now on the server answers nothing: two more pings, then the client gives up.
    assertThat(read()).isInstanceOf(Frame.Ping.class);
    assertThat(read()).isInstanceOf(Frame.Ping.class);
    Throwable cause = lost.get(5, TimeUnit.SECONDS);
    assertThat(cause).hasMessageContaining("heartbeat timeout").hasMessageContaining("300 ms");
    assertThat(client.state()).isEqualTo(ClientState.DISCONNECTED);
    assertThat(transitions).containsExactly("DISCONNECTED->CONNECTING", "CONNECTING->HANDSHAKING",
        "HANDSHAKING->CONNECTED", "CONNECTED->DISCONNECTED");
  }

  @Test
  void deliversEachMessageOnceInOrderAndAcksCumulatively() throws Exception {
    CompletableFuture<Void> connected = acceptAndReadHello();
    welcome(30_000, 3);
    connected.get(5, TimeUnit.SECONDS);
    ByteBuf batch = Unpooled.buffer();
    FrameCodec.encode(new Frame.Data(1, TargetKind.CLIENT, "alice", "bob", new byte[] {1}), batch);
    FrameCodec.encode(new Frame.Data(1, TargetKind.CLIENT, "alice", "bob", new byte[] {1}), batch);
    FrameCodec.encode(new Frame.Data(2, TargetKind.TOPIC, "news", "", new byte[] {2}), batch);
    byte[] bytes = new byte[batch.readableBytes()];
    batch.readBytes(bytes);
    out.write(bytes);
    out.flush();
    Frame.Ack ack = (Frame.Ack) read();
    while (ack.seq() < 2) {
      ack = (Frame.Ack) read();
    }
    assertThat(received).extracting(ReceivedMessage::seq).containsExactly(1L, 2L);
    assertThat(received.get(0).from()).isEqualTo("bob");
    assertThat(received.get(1).target()).isEqualTo("news");
  }

  @Test
  void sendCompletesOnlyWhenAcknowledged() throws Exception {
    CompletableFuture<Void> connected = acceptAndReadHello();
    welcome(30_000, 3);
    connected.get(5, TimeUnit.SECONDS);
    CompletableFuture<Void> first = client.send(Destination.client("bob"), new byte[] {1});
    CompletableFuture<Void> second = client.subscribe("news");
    assertThat(read()).isEqualTo(new Frame.Data(1, TargetKind.CLIENT, "bob", "", new byte[] {1}));
    assertThat(read()).isEqualTo(new Frame.Subscribe(2, "news"));
    assertThat(first).isNotDone();
    send(new Frame.Ack(1));
    first.get(5, TimeUnit.SECONDS);
    assertThat(second).isNotDone();
    send(new Frame.Ack(2));
    second.get(5, TimeUnit.SECONDS);
  }

  @Test
  void refusalFailsConnectWithTheServersCode() throws Exception {
    CompletableFuture<Void> connected = acceptAndReadHello();
    send(new Frame.Error(ErrorCode.AUTH_FAILED, "bad token"));
    assertThatThrownBy(() -> connected.get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.AUTH_FAILED))
        .hasMessageContaining("bad token");
    assertThat(client.state()).isEqualTo(ClientState.DISCONNECTED);
  }

  @Test
  void sendWhileDisconnectedFailsClearly() {
    assertThatThrownBy(() -> client.send(Destination.client("bob"), new byte[0]).get(5, TimeUnit.SECONDS))
        .cause().hasMessageContaining("is DISCONNECTED (expected: CONNECTED)");
  }

  @Test
  void closeSendsCloseAndEndsInClosed() throws Exception {
    CompletableFuture<Void> connected = acceptAndReadHello();
    welcome(30_000, 3);
    connected.get(5, TimeUnit.SECONDS);
    client.close();
    assertThat(read()).isEqualTo(new Frame.Close(ErrorCode.NORMAL, "client closed"));
    assertThat(client.state()).isEqualTo(ClientState.CLOSED);
    assertThat(client.closeFuture()).isDone();
    assertThat(in.read()).isEqualTo(-1);
  }

  @Test
  void serverThatBreaksSequenceOrderIsCutOff() throws Exception {
    CompletableFuture<Void> connected = acceptAndReadHello();
    welcome(30_000, 3);
    connected.get(5, TimeUnit.SECONDS);
    send(new Frame.Data(3, TargetKind.CLIENT, "alice", "bob", new byte[0]));
    Frame.Error e = (Frame.Error) read();
    assertThat(e.code()).isEqualTo(ErrorCode.SEQUENCE_GAP);
    assertThat(lost.get(5, TimeUnit.SECONDS)).isInstanceOf(LonglinkException.class);
    assertThat(received).isEmpty();
  }
}
