package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.FrameDecoder;
import io.longlink.protocol.FrameType;
import io.longlink.protocol.SessionStatus;
import io.longlink.protocol.TargetKind;
import io.longlink.protocol.testing.FakeTicker;
import io.longlink.server.Authenticator;
import io.longlink.server.Authorizer;
import io.longlink.server.MessageHandler;
import io.longlink.server.ServerConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * The connection state machine against hostile clients (docs/OPERATIONS.md, "Fuzzing"): up to four
 * embedded connections to one gateway send fuzzed sequences of frames (every type, well-formed or
 * not, with the session ids and sequence numbers the harness has seen so that resumes and takeovers
 * happen), raw bytes, and closes, while time moves on a fake clock and answers of a slow
 * authenticator arrive in any order. What must hold after every step:
 * <ul>
 *   <li>nothing escapes the pipeline as an exception;</li>
 *   <li>what the server writes is whole, valid frames; its first frame on a connection is WELCOME,
 *       ERROR or GOAWAY, and there is one WELCOME at most;</li>
 *   <li>the server's DATA and GAP never skip a sequence number the connection's client has not
 *       seen, and its ACK never covers a frame the client did not send in that session;</li>
 * </ul>
 * and once every connection is closed and retention has passed: no session, topic, liveness entry,
 * token watch or connection is left, and every buffer the connections allocated was released.
 * Without {@code JAZZER_FUZZ} this replays the inputs under {@code ConnectionFuzzTestInputs}.
 */
class ConnectionFuzzTest {
  private static final String[] IDS = {"alice", "bob", "carol", "dave"};
  private static final String[] TOPICS = {"news", "x.secret", "alice", "*"};
  private static final int MAX_STEPS = 96;

  /** Every buffer the server allocates, to prove at the end that each was released. */
  static final class TrackingAllocator extends AbstractByteBufAllocator {
    final List<ByteBuf> allocated = new ArrayList<>();

    TrackingAllocator() {
      super(false); // heap buffers, and no leak detector wrapper: the count is exact
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      return track(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity));
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      return track(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity));
    }

    @Override
    public CompositeByteBuf compositeHeapBuffer(int maxNumComponents) {
      return track(new CompositeByteBuf(this, false, maxNumComponents));
    }

    @Override
    public CompositeByteBuf compositeDirectBuffer(int maxNumComponents) {
      return track(new CompositeByteBuf(this, true, maxNumComponents));
    }

    @Override
    public boolean isDirectBufferPooled() {
      return false;
    }

    private <B extends ByteBuf> B track(B b) {
      allocated.add(b);
      return b;
    }
  }

  /**
   * Tokens the harness chooses by index: accepted at once, accepted for two seconds with "x.*"
   * topics forbidden, refused, the service down, or an answer held until the fuzzer releases it.
   */
  static final class ScriptedAuthenticator implements Authenticator {
    static final String[] TOKENS = {"", "ok", "short", "bad", "down", "later"};
    final ArrayDeque<CompletableFuture<AuthResult>> pending = new ArrayDeque<>();
    final ArrayDeque<String> pendingIds = new ArrayDeque<>();

    @Override
    public AuthResult authenticate(String clientId, String token, SocketAddress remoteAddress) {
      throw new AssertionError("the server asks authenticateAsync");
    }

    @Override
    public CompletionStage<AuthResult> authenticateAsync(String clientId, String token, SocketAddress remote,
        boolean tls) {
      return switch (token) {
        case "", "ok" -> CompletableFuture.completedFuture(AuthResult.accept(clientId));
        case "short" -> CompletableFuture.completedFuture(AuthResult.accept(clientId, Duration.ofSeconds(2),
            (action, target) -> !target.startsWith("x.")));
        case "down" -> CompletableFuture.completedFuture(AuthResult.unavailable("down", Duration.ofSeconds(2)));
        case "later" -> {
          CompletableFuture<AuthResult> f = new CompletableFuture<>();
          pending.add(f);
          pendingIds.add(clientId);
          yield f;
        }
        default -> CompletableFuture.completedFuture(AuthResult.reject("bad token"));
      };
    }

    void answerOne(int how) {
      CompletableFuture<AuthResult> f = pending.poll();
      String id = pendingIds.poll();
      if (f != null) {
        switch (how) {
          case 0 -> f.complete(AuthResult.accept(id, Duration.ofSeconds(3), null));
          case 1 -> f.complete(AuthResult.reject("no"));
          case 2 -> f.complete(AuthResult.unavailable("down", Duration.ofSeconds(1)));
          default -> f.completeExceptionally(new IllegalStateException("authenticator broke"));
        }
      }
    }
  }

  /** One client connection and what its (ideal) client has seen on it. */
  static final class Conn {
    final EmbeddedChannel ch;
    final String id;
    boolean welcomed;
    boolean ended;
    long lastReceived; // server → client
    long sentSeq; // client → server, the highest sent on this connection (frames may go before the WELCOME)
    String sessionId = "";

    Conn(EmbeddedChannel ch, String id) {
      this.ch = ch;
      this.id = id;
    }
  }

  /** What the harness knows of each client id's session: for resumes, and to check the server's ACKs. */
  static final class Known {
    String sessionId = "";
    long lastReceived; // server → client, as the client saw it
    long sentSeq; // client → server, the highest the client sent in this session
  }

  static {
    if (System.getenv("JAZZER_FUZZ") != null) { // millions of runs: the connections' log lines would fill the disk
      ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("io.longlink"))
          .setLevel(ch.qos.logback.classic.Level.OFF);
    }
  }

  @FuzzTest(maxDuration = "30s")
  void hostileClients(FuzzedDataProvider data) {
    new Run().play(data); // Jazzer keeps one test instance for all executions: all state is per run
  }

  /** One execution: a gateway, its connections, and what the harness saw. */
  static final class Run {
    final FakeTicker ticker = new FakeTicker();
    final TrackingAllocator alloc = new TrackingAllocator();
    final ScriptedAuthenticator auth = new ScriptedAuthenticator();
    final ServerConfig config = ServerConfig.builder().heartbeatInterval(Duration.ofSeconds(5)).heartbeatMisses(2)
      .handshakeTimeout(Duration.ofSeconds(3)).sessionRetention(Duration.ofSeconds(20))
      .tokenRefreshAhead(Duration.ofSeconds(1)).build();
    final Gateway gateway = new Gateway(config, auth, Authorizer.byCredential(), MessageHandler.routeAll(), null,
      ticker, null);
    final LoopContext loop = new LoopContext(ImmediateEventExecutor.INSTANCE, gateway);
    final List<Conn> conns = new ArrayList<>();
    final Map<String, Known> known = new HashMap<>();


    private Known known(String id) {
      return known.computeIfAbsent(id, x -> new Known());
    }

    /** What happened, for the message of a finding. */
    final List<String> trace = new ArrayList<>();

    void play(FuzzedDataProvider data) {
      try {
        playChecked(data);
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "\nafter:\n  " + String.join("\n  ", trace), e);
      }
    }

    private void playChecked(FuzzedDataProvider data) {
      try {
        for (int step = 0; step < MAX_STEPS && data.remainingBytes() > 0; step++) {
          step(data);
          pump();
        }
        for (Conn c : conns) {
          c.ch.close();
        }
        pump();
        advance(config.sessionRetention().plusSeconds(1).toMillis());
        pump();
        assertThat(gateway.sessions().store.size()).as("sessions left").isZero();
        assertThat(gateway.sessions().topics.topicCount()).as("topics left").isZero();
        assertThat(loop.sweeper.size()).as("liveness entries left").isZero();
        assertThat(loop.auth.size()).as("token watches left").isZero();
        assertThat(gateway.counters.connections.sum()).as("connections counted").isZero();
      } finally {
        for (Conn c : conns) {
          c.ch.finishAndReleaseAll();
        }
      }
      for (ByteBuf b : alloc.allocated) {
        assertThat(b.refCnt()).as("a buffer the server allocated was not released").isZero();
      }
    }

    private void step(FuzzedDataProvider data) {
      int op = data.consumeInt(0, 9);
      switch (op) {
        case 0 -> open(data);
        case 1, 2, 3, 4 -> {
          Conn c = pick(data);
          if (c != null) {
            send(c, () -> frame(data, c));
          }
        }
        case 5 -> {
          Conn c = pick(data);
          if (c != null) {
            write(c, data.consumeBytes(data.consumeInt(0, 48)));
          }
        }
        case 6 -> advance(data.consumeLong(0, 12_000));
        case 7 -> {
          Conn c = pick(data);
          if (c != null) {
            c.ch.close();
          }
        }
        case 8 -> auth.answerOne(data.consumeInt(0, 3));
        default -> {
          Conn c = pick(data);
          if (c != null) {
            c.ch.config().setAutoRead(!c.ch.config().isAutoRead());
          }
        }
      }
    }

    private void open(FuzzedDataProvider data) {
      if (conns.size() >= 4) {
        return;
      }
      EmbeddedChannel ch = EmbeddedChannel.builder().register(false).build();
      ch.config().setAllocator(alloc);
      ch.pipeline().addLast(new ServerConnection(loop));
      try {
        ch.register();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      Conn c = new Conn(ch, IDS[data.consumeInt(0, IDS.length - 1)]);
      conns.add(c);
      Known k = known(c.id);
      String token = ScriptedAuthenticator.TOKENS[data.consumeInt(0, ScriptedAuthenticator.TOKENS.length - 1)];
      if (data.consumeBoolean()) {
        send(c, () -> Frame.Hello.newSession(c.id, token));
      } else {
        long claimed = Math.max(0, k.lastReceived - data.consumeInt(0, 2));
        c.lastReceived = claimed;
        send(c, () -> new Frame.Hello(data.consumeBoolean() ? Frame.VERSION : data.consumeInt(0, 3), c.id, token,
            data.consumeBoolean() ? k.sessionId : data.consumeString(33), claimed, data.consumeLong(0, 3)));
      }
    }

    private Conn pick(FuzzedDataProvider data) {
      if (conns.isEmpty()) {
        return null;
      }
      return conns.get(data.consumeInt(0, conns.size() - 1));
    }

    /** A frame of any type, sequence numbers mostly right (so messages flow) and sometimes not. */
    private Frame frame(FuzzedDataProvider data, Conn c) {
      Known k = known(c.id);
      long seq = data.consumeBoolean() ? k.sentSeq + 1 : data.consumeLong(-1, k.sentSeq + 2);
      String target = data.consumeBoolean() ? IDS[data.consumeInt(0, IDS.length - 1)] : data.consumeString(12);
      String topic = data.consumeBoolean() ? TOPICS[data.consumeInt(0, TOPICS.length - 1)] : data.consumeString(12);
      FrameType[] types = FrameType.values();
      FrameType type = types[data.consumeInt(0, types.length - 1)];
      ErrorCode code = ErrorCode.values()[data.consumeInt(0, ErrorCode.values().length - 1)];
      return switch (type) {
        case HELLO -> Frame.Hello.newSession(c.id, "ok");
        case WELCOME -> new Frame.Welcome(Frame.VERSION, "x", SessionStatus.NEW, 0, 0, 1, 1, 64, 1, 1, 1);
        case PING -> new Frame.Ping(data.consumeLong());
        case PONG -> new Frame.Pong(data.consumeLong());
        case HEARTBEAT -> new Frame.Heartbeat(data.consumeInt(1, 600_000));
        case DATA -> new Frame.Data(seq, data.consumeBoolean() ? TargetKind.CLIENT : TargetKind.TOPIC,
            data.consumeBoolean() ? target : topic, data.consumeBoolean() ? "" : c.id, data.consumeBytes(16));
        case ACK -> new Frame.Ack(data.consumeBoolean() ? c.lastReceived : data.consumeLong(-1, c.lastReceived + 2));
        case REJECT -> new Frame.Reject(data.consumeLong(0, 8), code, "r");
        case GAP -> {
          long from = data.consumeLong(1, 8);
          yield new Frame.Gap(from, from + data.consumeLong(0, 4));
        }
        case REQUEST -> new Frame.Request(data.consumeLong(0, 4), data.consumeLong(0, 5_000), target, "",
            data.consumeBytes(8));
        case RESPONSE -> new Frame.Response(data.consumeLong(0, 4), code, code.code(), "m", data.consumeBytes(8));
        case CANCEL -> new Frame.Cancel(data.consumeLong(0, 4));
        case SUBSCRIBE -> new Frame.Subscribe(seq, topic);
        case UNSUBSCRIBE -> new Frame.Unsubscribe(seq, topic);
        case GOAWAY -> new Frame.GoAway(code, "g", data.consumeInt(0, 100), "");
        case ERROR -> new Frame.Error(code, "e");
        case CLOSE -> new Frame.Close(code, "bye");
        case REAUTH -> new Frame.Reauth(data.consumeInt(0, 1000));
        case AUTH -> new Frame.Auth(ScriptedAuthenticator.TOKENS[data.consumeInt(0, ScriptedAuthenticator.TOKENS.length - 1)]);
      };
    }

    /**
     * Sends the frame {@code make} builds, if the codec accepts its fields (fuzzed strings may be
     * too long or hold control characters: those bytes are the raw-bytes step's business).
     */
    private void send(Conn c, java.util.function.Supplier<Frame> make) {
      ByteBuf buf = alloc.heapBuffer();
      Frame f;
      try {
        f = make.get();
        FrameCodec.encode(f, buf);
      } catch (IllegalArgumentException e) {
        buf.release();
        return;
      }
      if (c.ch.isOpen()) {
        if (f instanceof Frame.Sequenced s) {
          Known k = known(c.id);
          k.sentSeq = Math.max(k.sentSeq, s.seq());
          c.sentSeq = Math.max(c.sentSeq, s.seq());
        }
        trace.add(c.ch.id().asShortText() + " " + c.id + " <- " + f);
        c.ch.writeInbound(buf);
      } else {
        buf.release();
      }
    }

    private void write(Conn c, byte[] bytes) {
      if (c.ch.isOpen()) {
        c.ch.writeInbound(alloc.heapBuffer(bytes.length).writeBytes(bytes));
      }
    }

    private void advance(long millis) {
      ticker.advance(Duration.ofMillis(millis));
      for (Conn c : conns) {
        c.ch.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
      }
      long now = ticker.nanoTime();
      loop.sweeper.sweep(now);
      loop.auth.check(now);
      gateway.directory.expireDetached(now);
    }

    /** Runs what is due on every channel and checks everything the server wrote. */
    private void pump() {
      for (int round = 0; round < 4; round++) {
        boolean any = false;
        for (Conn c : conns) {
          c.ch.runPendingTasks();
          c.ch.checkException();
          for (ByteBuf out; (out = c.ch.readOutbound()) != null; ) {
            any = true;
            try {
              read(c, out);
            } finally {
              out.release();
            }
          }
        }
        if (!any) {
          return;
        }
      }
    }

    private void read(Conn c, ByteBuf out) {
      for (Frame f; (f = FrameDecoder.decodeOne(out, FrameCodec.DEFAULT_MAX_FRAME_SIZE)) != null; ) {
        check(c, f);
      }
      assertThat(out.isReadable()).as("the server writes whole frames").isFalse();
    }

    private void check(Conn c, Frame f) {
      trace.add(c.ch.id().asShortText() + " " + c.id + " -> " + f);
      assertThat(c.ended).as("%s after the connection's last frame", f).isFalse();
      if (!c.welcomed) {
        assertThat(f).as("the first frame from the server").isInstanceOfAny(Frame.Welcome.class, Frame.Error.class,
            Frame.GoAway.class);
      }
      Known k = known(c.id);
      switch (f) {
        case Frame.Welcome w -> {
          assertThat(c.welcomed).as("a second WELCOME").isFalse();
          c.welcomed = true;
          c.sessionId = w.sessionId();
          if (w.sessionStatus() != SessionStatus.RESUMED || !w.sessionId().equals(k.sessionId)) {
            c.lastReceived = 0; // a new session: both sequence spaces start again
          }
          k.sentSeq = Math.max(w.lastReceivedSeq(), c.sentSeq); // the client goes on after what the server has
          k.sessionId = w.sessionId();
          k.lastReceived = c.lastReceived;
        }
        case Frame.Data d -> {
          assertThat(d.seq()).as("DATA skips a sequence number").isLessThanOrEqualTo(c.lastReceived + 1);
          c.lastReceived = Math.max(c.lastReceived, d.seq());
          if (c.sessionId.equals(k.sessionId)) {
            k.lastReceived = c.lastReceived;
          }
        }
        case Frame.Gap g -> {
          assertThat(g.fromSeq()).as("GAP skips a sequence number").isLessThanOrEqualTo(c.lastReceived + 1);
          c.lastReceived = Math.max(c.lastReceived, g.toSeq());
          if (c.sessionId.equals(k.sessionId)) {
            k.lastReceived = c.lastReceived;
          }
        }
        case Frame.Ack a -> assertThat(a.seq()).as("ACK of a frame never sent").isLessThanOrEqualTo(k.sentSeq);
        case Frame.Error e -> c.ended = true;
        case Frame.GoAway g -> c.ended = true;
        default -> { }
      }
    }
  }
}
