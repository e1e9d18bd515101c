package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.longlink.client.ClientListener;
import io.longlink.client.ClientTls;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.LonglinkException;
import io.longlink.client.ReceivedMessage;
import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.testing.RawClient;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.ServerTls;
import io.longlink.testing.TestPki;
import io.micrometer.core.instrument.FunctionCounter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client port over TLS, with the Java SDK and hostile peers, over real sockets on loopback. */
class TlsTest {
  @TempDir Path dir;
  LonglinkServer server;
  final List<LonglinkClient> clients = new ArrayList<>();

  @AfterEach
  void stop() {
    clients.forEach(LonglinkClient::close);
    if (server != null) {
      server.close();
    }
  }

  static final class Inbox implements ClientListener {
    final LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();

    @Override
    public void onMessage(ReceivedMessage m) {
      got.add(m.payloadText());
    }
  }

  LonglinkServer start(ServerTls tls) {
    server = LonglinkServer.builder().config(ServerConfig.builder().port(0).handshakeTimeout(Duration.ofMillis(800)).build())
        .tls(tls).build().start();
    return server;
  }

  LonglinkClient client(String id, ClientTls tls, Inbox inbox) {
    LonglinkClient.Builder b = LonglinkClient.builder().endpoint(server.localAddress()).clientId(id)
        .connectTimeout(Duration.ofSeconds(5)).listener(inbox == null ? new Inbox() : inbox);
    if (tls != null) {
      b.tls(tls);
    }
    LonglinkClient c = b.build();
    clients.add(c);
    return c;
  }

  double tlsFailures(String reason) {
    FunctionCounter c = server.meterRegistry().find("longlink.tls.handshake.failures").tag("reason", reason)
        .functionCounter();
    return c == null ? -1 : c.count();
  }

  /** Two clients exchange a message over TLS; returns what {@code to} got. */
  static String exchange(LonglinkClient from, String to, Inbox toInbox, String text) throws Exception {
    from.send(Destination.client(to), text.getBytes(StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS);
    return toInbox.got.poll(5, TimeUnit.SECONDS);
  }

  @Test
  void sdkClientsExchangeOverTlsAndHostileBytesAreClosedCountedAndHarmless() throws Exception {
    TestPki pki = TestPki.create("gw", dir);
    TestPki.Issued cert = pki.server("server");
    start(ServerTls.of(cert.certificateFile(), cert.keyFile()));
    assertThat(server.tls()).isTrue();
    Inbox bobInbox = new Inbox();
    LonglinkClient alice = client("alice", ClientTls.trust(pki.caFile()), null);
    LonglinkClient bob = client("bob", ClientTls.trust(pki.caFile()), bobInbox);
    alice.connect().get(10, TimeUnit.SECONDS);
    bob.connect().get(10, TimeUnit.SECONDS);
    assertThat(exchange(alice, "bob", bobInbox, "over tls")).isEqualTo("over tls");

    // A plaintext longlink client: told in plaintext what is wrong, then closed; counted.
    try (RawClient plain = RawClient.connect(server.localAddress())) {
      plain.send(Frame.Hello.newSession("mallory", ""));
      Frame answer = plain.read();
      assertThat(answer).isInstanceOfSatisfying(Frame.Error.class, e -> {
        assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
        assertThat(e.message()).contains("speaks TLS");
      });
      assertThat(plain.awaitClosed(Duration.ofSeconds(5))).isTrue();
    }
    assertThat(tlsFailures("not_tls")).isEqualTo(1);
    // The SDK without TLS reports the same cause.
    LonglinkClient plainSdk = client("plain", null, null);
    assertThatThrownBy(() -> plainSdk.connect().get(10, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(LonglinkException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR));
    await().atMost(Duration.ofSeconds(5)).until(() -> tlsFailures("not_tls") == 2);

    // A peer that connects and says nothing (or stalls mid-handshake) is closed at the handshake timeout.
    try (RawClient silent = RawClient.connect(server.localAddress());
        RawClient stalled = RawClient.connect(server.localAddress())) {
      stalled.sendBytes(new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xc8, 0x01}); // a ClientHello's first bytes
      assertThat(silent.awaitClosed(Duration.ofSeconds(5))).isTrue();
      assertThat(stalled.awaitClosed(Duration.ofSeconds(5))).isTrue();
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> tlsFailures("timeout") == 2);
    assertThat(server.stats().connections()).isEqualTo(2);

    // The established connections never noticed.
    assertThat(exchange(alice, "bob", bobInbox, "still here")).isEqualTo("still here");
    assertThat(alice.reconnects()).isZero();
  }

  @Test
  void sdkRefusesUntrustedExpiredAndMisnamedCertificates() throws Exception {
    TestPki pki = TestPki.create("gw", dir);
    TestPki other = TestPki.create("other", dir);
    TestPki.Issued expired = pki.expiredServer("expired");
    start(ServerTls.of(expired.certificateFile(), expired.keyFile()));
    LonglinkClient c1 = client("c1", ClientTls.trust(pki.caFile()), null);
    assertThatThrownBy(() -> c1.connect().get(10, TimeUnit.SECONDS)).cause().isInstanceOf(SSLException.class)
        .hasStackTraceContaining("validity check failed");
    server.close();

    TestPki.Issued good = pki.server("good");
    start(ServerTls.of(good.certificateFile(), good.keyFile()));
    LonglinkClient c2 = client("c2", ClientTls.trust(other.caFile()), null);
    assertThatThrownBy(() -> c2.connect().get(10, TimeUnit.SECONDS)).cause().isInstanceOf(SSLException.class);
    // The certificate names localhost and 127.0.0.1: another name fails hostname verification.
    LonglinkClient c3 = client("c3", ClientTls.trust(pki.caFile()).serverName("gateway.example"), null);
    assertThatThrownBy(() -> c3.connect().get(10, TimeUnit.SECONDS)).cause().isInstanceOf(SSLException.class);
    LonglinkClient c4 = client("c4", ClientTls.trust(pki.caFile()), null);
    c4.connect().get(10, TimeUnit.SECONDS);
    // The server counted the refusals as aborted handshakes (the client closed on our certificate).
    await().atMost(Duration.ofSeconds(5)).until(() -> tlsFailures("aborted") + tlsFailures("protocol")
        + tlsFailures("bad_certificate") >= 2);
  }

  @Test
  void mutualTlsRefusesClientsWithoutACertificateFromTheTrustedAuthority() throws Exception {
    TestPki pki = TestPki.create("gw", dir);
    TestPki devices = TestPki.create("devices", dir);
    TestPki rogue = TestPki.create("rogue", dir);
    TestPki.Issued cert = pki.server("server");
    start(ServerTls.of(cert.certificateFile(), cert.keyFile()).requireClientCertificates(devices.caFile()));
    TestPki.Issued device = devices.client("device-1", "device-1");
    TestPki.Issued fake = rogue.client("device-2", "device-2");

    Inbox inbox = new Inbox();
    LonglinkClient good = client("device-1", ClientTls.trust(pki.caFile())
        .clientCertificate(device.certificateFile(), device.keyFile()), inbox);
    good.connect().get(10, TimeUnit.SECONDS);

    LonglinkClient none = client("anon", ClientTls.trust(pki.caFile()), null);
    assertThatThrownBy(() -> none.connect().get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
    LonglinkClient wrongCa = client("device-2", ClientTls.trust(pki.caFile())
        .clientCertificate(fake.certificateFile(), fake.keyFile()), null);
    assertThatThrownBy(() -> wrongCa.connect().get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
    await().atMost(Duration.ofSeconds(5)).until(() -> tlsFailures("bad_certificate") == 2);

    assertThat(exchange(good, "device-1", inbox, "to myself")).isEqualTo("to myself");
    assertThat(server.stats().connections()).isEqualTo(1);
  }

  @Test
  void aCertificateReplacedOnDiskIsServedToNewConnectionsWhileOpenOnesStayUp() throws Exception {
    TestPki first = TestPki.create("first", dir);
    TestPki second = TestPki.create("second", dir);
    Path certFile = dir.resolve("live.pem");
    Path keyFile = dir.resolve("live-key.pem");
    TestPki.Issued a = first.server("a");
    Files.copy(a.certificateFile(), certFile);
    Files.copy(a.keyFile(), keyFile);
    start(ServerTls.of(certFile, keyFile).reloadCheckInterval(Duration.ofMillis(100)));
    Inbox oldInbox = new Inbox();
    LonglinkClient old = client("old", ClientTls.trust(first.caFile()), oldInbox);
    old.connect().get(10, TimeUnit.SECONDS);

    // A half-written (broken) key: the reload fails and the node keeps serving the old certificate.
    Files.writeString(keyFile, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
    assertThat(server.reloadTls()).contains("still serving the previous one");
    LonglinkClient stillFirst = client("still-first", ClientTls.trust(first.caFile()), null);
    stillFirst.connect().get(10, TimeUnit.SECONDS);

    // The operator's renewal: both files replaced (atomically, as cert tools do), noticed by the watcher.
    TestPki.Issued b = second.server("b");
    Files.copy(b.keyFile(), keyFile, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(b.certificateFile(), certFile, StandardCopyOption.REPLACE_EXISTING);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      LonglinkClient probe = client("probe" + clients.size(), ClientTls.trust(second.caFile()), null);
      try {
        probe.connect().get(10, TimeUnit.SECONDS);
      } finally {
        probe.close();
      }
    });
    LonglinkClient firstOnly = client("first-only", ClientTls.trust(first.caFile()), null);
    assertThatThrownBy(() -> firstOnly.connect().get(10, TimeUnit.SECONDS)).cause().isInstanceOf(SSLException.class);
    // The connection made before the renewal is still up, on its old certificate.
    assertThat(exchange(old, "old", oldInbox, "after renewal")).isEqualTo("after renewal");
    assertThat(old.reconnects()).isZero();
  }
}
