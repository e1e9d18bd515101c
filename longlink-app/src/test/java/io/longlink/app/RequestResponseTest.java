package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.longlink.client.ConnectionLostException;
import io.longlink.client.LonglinkClient;
import io.longlink.client.LonglinkException;
import io.longlink.client.RequestTimeoutException;
import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.server.LonglinkServer;
import io.longlink.server.RequestHandler;
import io.longlink.server.ServerConfig;
import io.longlink.protocol.testing.RawClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Request/response with deadlines between the SDK and the gateway's request handler, over loopback. */
class RequestResponseTest {
  final List<AutoCloseable> closeables = new ArrayList<>();
  final AtomicInteger invocations = new AtomicInteger();
  final CountDownLatch interrupted = new CountDownLatch(1);

  /** echo: answers the payload; fail: throws; slow N: sleeps N ms (interruptibly), then answers. */
  final RequestHandler handler = request -> {
    invocations.incrementAndGet();
    String text = new String(request.payload(), StandardCharsets.UTF_8);
    if (text.startsWith("fail")) {
      throw new IllegalStateException("no such order: " + text.substring(4).trim());
    }
    if (text.startsWith("slow")) {
      try {
        io.longlink.testing.SimulatedWork.takesMillis(Long.parseLong(text.substring(5)));
      } catch (InterruptedException e) {
        interrupted.countDown();
        throw e;
      }
    }
    return ("re: " + text).getBytes(StandardCharsets.UTF_8);
  };

  LonglinkServer start(RequestHandler h) {
    LonglinkServer.Builder b = LonglinkServer.builder().config(ServerConfig.builder().port(0).build());
    if (h != null) {
      b.requestHandler(h);
    }
    LonglinkServer s = b.build().start();
    closeables.add(s);
    return s;
  }

  LonglinkClient client(LonglinkServer s) throws Exception {
    return client(s, "caller", null);
  }

  LonglinkClient client(LonglinkServer s, String id, io.longlink.client.ClientRequestHandler answers) throws Exception {
    LonglinkClient.Builder b = LonglinkClient.builder().endpoint(s.localAddress()).clientId(id);
    if (answers != null) {
      b.requestHandler(answers);
    }
    LonglinkClient c = b.build();
    closeables.add(0, c);
    c.connect().get(5, TimeUnit.SECONDS);
    return c;
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void answersFailuresAndAMissingHandlerComeBackTyped() throws Exception {
    LonglinkServer server = start(handler);
    LonglinkClient c = client(server);
    assertThat(c.request(utf8("hello"), Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS)).asString().isEqualTo("re: hello");
    assertThatThrownBy(() -> c.request(utf8("fail 42"), Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS))
        .hasCauseInstanceOf(LonglinkException.class)
        .cause().hasMessage("REQUEST_FAILED: no such order: 42");
    assertThat(server.stats().requestsHandled()).isEqualTo(2);

    LonglinkServer bare = start(null);
    LonglinkClient d = client(bare);
    assertThatThrownBy(() -> d.request(utf8("x"), Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NO_HANDLER));
  }

  @Test
  void aHandlerSlowerThanTheDeadlineTimesOutOnTimeAndIsStopped() throws Exception {
    LonglinkServer server = start(handler);
    LonglinkClient c = client(server);
    long t0 = System.nanoTime();
    CompletableFuture<byte[]> slow = c.request(utf8("slow 10000"), Duration.ofMillis(300));
    ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
        () -> slow.get(5, TimeUnit.SECONDS));
    double ms = (System.nanoTime() - t0) / 1e6;
    assertThat(e.getCause()).isInstanceOf(RequestTimeoutException.class).hasMessageContaining("no answer within 300 ms");
    assertThat(ms).as("failed at the deadline").isBetween(300.0, 300.0 + 200);
    // The CANCEL reached the gateway: the handler's thread was interrupted, nothing stays in flight.
    assertThat(interrupted.await(5, TimeUnit.SECONDS)).isTrue();
    await().until(() -> server.stats().requestsInFlight() == 0);
    assertThat(server.stats().requestsCancelled()).isEqualTo(1);
    assertThat(c.request(utf8("after"), Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS)).asString().isEqualTo("re: after");
  }

  @Test
  void aRequestExpiredOnArrivalIsDroppedWithoutProcessing() throws Exception {
    LonglinkServer server = start(handler);
    try (RawClient raw = RawClient.login(server.localAddress(), "raw")) {
      raw.send(new Frame.Request(1, System.currentTimeMillis() - 1, utf8("late")));
      raw.send(new Frame.Request(2, System.currentTimeMillis() + 5_000, utf8("on time")));
      Frame.Response r = raw.readUntil(Frame.Response.class);
      assertThat(r.requestId()).as("only the live request is answered").isEqualTo(2);
      assertThat(server.stats().requestsExpired()).isEqualTo(1);
      assertThat(invocations).hasValue(1);
    }
  }

  @Test
  void cancellingTheFutureStopsTheHandler() throws Exception {
    LonglinkServer server = start(handler);
    LonglinkClient c = client(server);
    CompletableFuture<byte[]> f = c.request(utf8("slow 10000"), Duration.ofSeconds(30));
    await().until(() -> invocations.get() == 1);
    f.cancel(true);
    assertThat(interrupted.await(5, TimeUnit.SECONDS)).isTrue();
    await().until(() -> server.stats().requestsInFlight() == 0 && server.stats().requestsCancelled() == 1);
  }

  @Test
  void aConnectionLostWithARequestInFlightFailsItAsUnknownOutcome() throws Exception {
    LonglinkServer server = start(handler);
    LonglinkClient c = client(server);
    CompletableFuture<byte[]> f = c.request(utf8("slow 10000"), Duration.ofSeconds(30));
    await().until(() -> invocations.get() == 1);
    server.close();
    assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).cause().isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("may or may not have been processed");
    assertThat(interrupted.await(5, TimeUnit.SECONDS)).as("the closed connection stopped its handler").isTrue();
  }

  @Test
  void aClientAsksAnotherClientThroughTheGateway() throws Exception {
    LonglinkServer server = start(null);
    CountDownLatch bobInterrupted = new CountDownLatch(1);
    LonglinkClient bob = client(server, "bob", in -> {
      String text = new String(in.payload(), StandardCharsets.UTF_8);
      if (text.equals("stall")) {
        try {
          io.longlink.testing.SimulatedWork.takesMillis(10_000);
        } catch (InterruptedException e) {
          bobInterrupted.countDown();
          throw e;
        }
      }
      if (text.equals("fail")) {
        throw new IllegalArgumentException("bob cannot");
      }
      return ("bob got " + text + " from " + in.from()).getBytes(StandardCharsets.UTF_8);
    });
    client(server, "mute", null);
    LonglinkClient alice = client(server, "alice", null);

    assertThat(alice.request("bob", utf8("hi"), Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS)).asString()
        .isEqualTo("bob got hi from alice");
    assertThatThrownBy(() -> alice.request("bob", utf8("fail"), Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS))
        .cause().hasMessage("REQUEST_FAILED: bob cannot");
    assertThatThrownBy(() -> alice.request("mute", utf8("x"), Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NO_HANDLER));
    assertThatThrownBy(() -> alice.request("nobody", utf8("x"), Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNREACHABLE));

    // Alice's deadline passes: she fails on time, the gateway passes her CANCEL on, bob's handler stops.
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> alice.request("bob", utf8("stall"), Duration.ofMillis(300)).get(5, TimeUnit.SECONDS))
        .cause().isInstanceOf(RequestTimeoutException.class);
    assertThat((System.nanoTime() - t0) / 1e6).isBetween(300.0, 500.0);
    assertThat(bobInterrupted.await(5, TimeUnit.SECONDS)).isTrue();
    await().until(() -> server.stats().requestsInFlight() == 0);

    // Bob leaves while alice waits: she hears it at once instead of at her deadline.
    CompletableFuture<byte[]> pending = alice.request("bob", utf8("stall"), Duration.ofSeconds(30));
    await().until(() -> server.stats().requestsInFlight() == 1);
    bob.close();
    assertThatThrownBy(() -> pending.get(5, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNREACHABLE))
        .hasMessageContaining("disconnected before answering");
    assertThat(server.stats().requestsForwarded()).as("all but the one to nobody").isEqualTo(5);
    await().until(() -> server.stats().requestsInFlight() == 0);
  }
}
