package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.longlink.client.ClientListener;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.LonglinkException;
import io.longlink.client.ReceivedMessage;
import io.longlink.protocol.ErrorCode;
import io.longlink.server.Authenticator;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.auth.AclAuthorizer;
import io.longlink.server.auth.HttpAuthenticator;
import io.longlink.server.auth.JwtAuthenticator;
import io.micrometer.core.instrument.FunctionCounter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Expiring tokens refreshed in place, TOKEN_EXPIRED and resume, authorization and the backend callout, over sockets. */
class TokensAndAuthorizationTest {
  static final byte[] SECRET = "a-test-secret-of-at-least-32-bytes!!".getBytes(StandardCharsets.UTF_8);
  LonglinkServer server;
  HttpServer backend;
  final List<LonglinkClient> clients = new ArrayList<>();
  /** Holds the callout backend's "slow" answers until the test ends. */
  final java.util.concurrent.CountDownLatch slowAnswers = new java.util.concurrent.CountDownLatch(1);

  @AfterEach
  void stop() {
    slowAnswers.countDown();
    clients.forEach(LonglinkClient::close);
    if (server != null) {
      server.close();
    }
    if (backend != null) {
      backend.stop(0);
    }
  }

  static final class Inbox implements ClientListener {
    final List<String> got = new CopyOnWriteArrayList<>();

    @Override
    public void onMessage(ReceivedMessage m) {
      got.add(m.payloadText());
    }
  }

  static String token(String sub, Duration lifetime, String... claims) {
    try {
      JWTClaimsSet.Builder c = new JWTClaimsSet.Builder().subject(sub)
          .expirationTime(Date.from(Instant.now().plus(lifetime)));
      for (int i = 0; i + 1 < claims.length; i += 2) {
        c.claim(claims[i], List.of(claims[i + 1]));
      }
      SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), c.build());
      jwt.sign(new MACSigner(SECRET));
      return jwt.serialize();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  LonglinkServer start(Authenticator auth, io.longlink.server.Authorizer authorizer) {
    LonglinkServer.Builder b = LonglinkServer.builder().config(ServerConfig.builder().port(0).build()).authenticator(auth);
    if (authorizer != null) {
      b.authorizer(authorizer);
    }
    server = b.build().start();
    return server;
  }

  static JwtAuthenticator jwt() {
    return JwtAuthenticator.of(new JWKSet(new OctetSequenceKey.Builder(SECRET).build()), null, null, Clock.systemUTC(),
        true);
  }

  LonglinkClient client(String id, io.longlink.client.TokenProvider tokens, Inbox inbox) {
    LonglinkClient c = LonglinkClient.builder().endpoint(server.localAddress()).clientId(id).tokenProvider(tokens)
        .backoff(Duration.ofMillis(20), Duration.ofMillis(200)).listener(inbox == null ? new Inbox() : inbox).build();
    clients.add(c);
    return c;
  }

  double counter(String name, String tag, String value) {
    FunctionCounter c = server.meterRegistry().find(name).tag(tag, value).functionCounter();
    return c == null ? -1 : c.count();
  }

  @Test
  void freshTokensKeepAConnectionAliveAcrossThreeLifetimesWithoutReconnecting() throws Exception {
    start(jwt(), null);
    Inbox bobInbox = new Inbox();
    LonglinkClient bob = client("bob", () -> CompletableFuture.completedFuture(token("bob", Duration.ofDays(1))), bobInbox);
    bob.connect().get(10, TimeUnit.SECONDS);
    AtomicInteger minted = new AtomicInteger();
    // Three-second tokens: the gateway asks for a fresh one half way through each.
    LonglinkClient alice = client("alice", () -> CompletableFuture.supplyAsync(() -> {
      minted.incrementAndGet();
      return token("alice", Duration.ofSeconds(3));
    }), null);
    alice.connect().get(10, TimeUnit.SECONDS);
    // A message every poll until three fresh tokens went out on the same connection (bounded in count and time).
    AtomicInteger sent = new AtomicInteger();
    await().pollInterval(Duration.ofMillis(100)).atMost(Duration.ofSeconds(30)).until(() -> {
      alice.send(Destination.client("bob"), ("m" + sent.getAndIncrement()).getBytes(StandardCharsets.UTF_8))
          .get(10, TimeUnit.SECONDS);
      return alice.tokenRefreshes() >= 3 || sent.get() >= 300;
    });
    assertThat(alice.tokenRefreshes()).as("three refreshes within 300 messages").isGreaterThanOrEqualTo(3);
    int total = sent.get();
    await().atMost(Duration.ofSeconds(5)).until(() -> bobInbox.got.size() == total);
    assertThat(alice.reconnects()).isZero();
    assertThat(minted.get()).isGreaterThanOrEqualTo(4); // the login and three refreshes
    assertThat(counter("longlink.token.refreshes", "result", "ok")).isGreaterThanOrEqualTo(3);
    assertThat(counter("longlink.goaways", "reason", "token_expired")).isZero();
  }

  @Test
  void aTokenNotRefreshedEndsTheConnectionAndAResumeWithAFreshOneKeepsEveryMessage() throws Exception {
    start(jwt(), null);
    AtomicInteger calls = new AtomicInteger();
    Inbox bobInbox = new Inbox();
    // Bob's provider fails the gateway's request for a fresh token (call 2), then works again.
    LonglinkClient bob = client("bob", () -> calls.incrementAndGet() == 2
        ? CompletableFuture.failedFuture(new IllegalStateException("identity provider down"))
        : CompletableFuture.completedFuture(token("bob", Duration.ofSeconds(2))), bobInbox);
    bob.connect().get(10, TimeUnit.SECONDS);
    LonglinkClient alice = client("alice", () -> CompletableFuture.completedFuture(token("alice", Duration.ofDays(1))),
        null);
    alice.connect().get(10, TimeUnit.SECONDS);
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    // Ten messages per poll until bob's token ran out (GOAWAY), then a hundred more: the stream spans his cut and resume.
    AtomicInteger afterCut = new AtomicInteger();
    await().pollInterval(Duration.ofMillis(50)).atMost(Duration.ofSeconds(30)).until(() -> {
      for (int k = 0; k < 10; k++) {
        acks.add(alice.send(Destination.client("bob"), ("m" + acks.size()).getBytes(StandardCharsets.UTF_8)));
      }
      return (counter("longlink.goaways", "reason", "token_expired") >= 1 && afterCut.addAndGet(10) >= 100)
          || acks.size() >= 3000;
    });
    int n = acks.size();
    CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(15)).until(() -> bobInbox.got.size() >= n);
    assertThat(counter("longlink.goaways", "reason", "token_expired")).isGreaterThanOrEqualTo(1);
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      expected.add("m" + i);
    }
    assertThat(bobInbox.got).containsExactlyElementsOf(expected); // once each, in order
    assertThat(bob.reconnects()).isGreaterThanOrEqualTo(1);
    assertThat(server.stats().resumed()).isGreaterThanOrEqualTo(1);
    assertThat(server.stats().resumesLost()).isZero();
  }

  @Test
  void deniedSendsPublishesAndSubscribesGetForbiddenAndTheConnectionStays() throws Exception {
    AclAuthorizer acl = AclAuthorizer.parse("""
        *  subscribe  news.*          allow
        *  publish    {principal}.*   allow
        *  send       ops             deny
        *  send       *               allow
        """, "test");
    start(jwt(), acl);
    Inbox bobInbox = new Inbox();
    LonglinkClient bob = client("bob", () -> CompletableFuture.completedFuture(token("bob", Duration.ofDays(1))), bobInbox);
    bob.connect().get(10, TimeUnit.SECONDS);
    bob.subscribe("news.sport").get(10, TimeUnit.SECONDS);
    bob.subscribe("alice.status").handle((v, e) -> null).get(10, TimeUnit.SECONDS);
    // Alice's token narrows further: she may publish only to alice.status.
    LonglinkClient alice = client("alice", () -> CompletableFuture.completedFuture(token("alice", Duration.ofDays(1),
        "pub_topics", "alice.status")), null);
    alice.connect().get(10, TimeUnit.SECONDS);

    assertForbidden(alice.send(Destination.client("ops"), "x".getBytes()));
    assertForbidden(alice.send(Destination.topic("bob.status"), "x".getBytes()));
    assertForbidden(alice.send(Destination.topic("alice.private"), "x".getBytes())); // the ACL allows, the token not
    assertForbidden(alice.subscribe("secret.plans"));
    alice.send(Destination.client("bob"), "allowed".getBytes()).get(10, TimeUnit.SECONDS);
    alice.subscribe("news.weather").get(10, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).until(() -> bobInbox.got.contains("allowed"));
    assertThat(alice.reconnects()).isZero();
    assertThat(server.meterRegistry().find("longlink.forbidden").functionCounter().count()).isGreaterThanOrEqualTo(4);
  }

  static void assertForbidden(CompletableFuture<?> f) {
    assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause()
        .isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
  }

  @Test
  void backendCalloutAllowsDeniesAndFailsClosed() throws Exception {
    backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    backend.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    backend.createContext("/auth", ex -> {
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      String id = body.replaceAll(".*\"clientId\":\"([^\"]*)\".*", "$1");
      int status = 200;
      String answer;
      switch (id) {
        case "deny" -> answer = "{\"allow\":false,\"reason\":\"banned\"}";
        case "slow" -> {
          try {
            slowAnswers.await(10, TimeUnit.SECONDS); // past the callout's 500 ms deadline; released at the end
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          answer = "{\"allow\":true}";
        }
        case "error" -> {
          status = 500;
          answer = "{}";
        }
        case "garbage" -> answer = "<html>not json</html>";
        case "bare" -> answer = "{\"allowed\":true}"; // not the field asked for
        default -> answer = "{\"allow\":true,\"principal\":\"" + id + "\",\"topics\":{\"subscribe\":[\"news.*\"]}}";
      }
      byte[] out = answer.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, out.length);
      ex.getResponseBody().write(out);
      ex.close();
    });
    backend.start();
    HttpAuthenticator callout = new HttpAuthenticator(URI.create("http://127.0.0.1:" + backend.getAddress().getPort()
        + "/auth"), Duration.ofMillis(500), 16, Clock.systemUTC());
    start(callout, null);
    LonglinkClient ok = client("alice", () -> CompletableFuture.completedFuture("t"), null);
    ok.connect().get(10, TimeUnit.SECONDS);
    assertForbidden(ok.subscribe("secret"));
    ok.subscribe("news.x").get(10, TimeUnit.SECONDS);
    expectRefused("deny", ErrorCode.AUTH_FAILED);
    for (String failing : List.of("slow", "error", "garbage", "bare")) {
      expectRefused(failing, ErrorCode.UNAVAILABLE);
    }
    backend.stop(0);
    backend = null;
    expectRefused("after-the-backend-stopped", ErrorCode.UNAVAILABLE);
    assertThat(callout.failures()).isEqualTo(5);
    assertThat(server.meterRegistry().find("longlink.auth.unavailable").functionCounter().count()).isEqualTo(5);
    // The refused client sees its GOAWAY before the gateway has closed its side: wait for the close.
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().connections() == 1);
  }

  void expectRefused(String id, ErrorCode code) {
    LonglinkClient c = LonglinkClient.builder().endpoint(server.localAddress()).clientId(id).token("t").build();
    clients.add(c);
    assertThatThrownBy(() -> c.connect().get(10, TimeUnit.SECONDS)).as(id).cause()
        .isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).as(id).isEqualTo(code));
  }
}
