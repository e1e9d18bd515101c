package io.longlink.client;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * TLS for a {@link LonglinkClient}: which server certificates to trust, and optionally a client
 * certificate to present (for gateways that require mutual TLS). The server's certificate must be
 * valid now, chain to a trusted authority, and name the host connected to (or {@link #serverName});
 * TLS 1.2 or 1.3. An untrusted, expired or misnamed certificate fails the connection attempt with
 * an {@link javax.net.ssl.SSLHandshakeException}. Immutable; each method returns a new value.
 */
public final class ClientTls {
  private final Path trustedCaFile;
  private final X509Certificate[] trustedCas;
  private final Path certificateChain;
  private final Path privateKey;
  private final String serverName;
  private final boolean verifyHostname;

  private ClientTls(Path trustedCaFile, X509Certificate[] trustedCas, Path certificateChain, Path privateKey,
      String serverName, boolean verifyHostname) {
    this.trustedCaFile = trustedCaFile;
    this.trustedCas = trustedCas;
    this.certificateChain = certificateChain;
    this.privateKey = privateKey;
    this.serverName = serverName;
    this.verifyHostname = verifyHostname;
  }

  /** Trusts the JDK's default authorities (its {@code cacerts}): for a gateway with a public certificate. */
  public static ClientTls systemTrust() {
    return new ClientTls(null, null, null, null, null, true);
  }

  /** Trusts the authorities in a PEM file (e.g. a private CA). */
  public static ClientTls trust(Path caPemFile) {
    Objects.requireNonNull(caPemFile, "caPemFile");
    if (!Files.isReadable(caPemFile)) {
      throw new IllegalArgumentException("caPemFile: " + caPemFile + " (expected: a readable PEM file)");
    }
    return new ClientTls(caPemFile, null, null, null, null, true);
  }

  /** Trusts these authorities. */
  public static ClientTls trust(X509Certificate... cas) {
    if (cas.length == 0) {
      throw new IllegalArgumentException("cas: none (expected: at least one certificate)");
    }
    return new ClientTls(null, cas.clone(), null, null, null, true);
  }

  /** Presents this certificate (chain, PEM) and key (PKCS#8 PEM) when the gateway asks for one. */
  public ClientTls clientCertificate(Path certificateChainPem, Path privateKeyPem) {
    for (Path p : new Path[] {certificateChainPem, privateKeyPem}) {
      if (p == null || !Files.isReadable(p)) {
        throw new IllegalArgumentException("client certificate file: " + p + " (expected: a readable PEM file)");
      }
    }
    return new ClientTls(trustedCaFile, trustedCas, certificateChainPem, privateKeyPem, serverName, verifyHostname);
  }

  /** The name sent (SNI) and checked against the certificate; default the endpoint's host. */
  public ClientTls serverName(String name) {
    Objects.requireNonNull(name, "name");
    return new ClientTls(trustedCaFile, trustedCas, certificateChain, privateKey, name, verifyHostname);
  }

  /**
   * Whether the certificate must name the host (default true). Off only for tests or pinned
   * private authorities: without it any certificate of a trusted authority is accepted for any host.
   */
  public ClientTls hostnameVerification(boolean on) {
    return new ClientTls(trustedCaFile, trustedCas, certificateChain, privateKey, serverName, on);
  }

  /** The context this describes; made once per client. */
  SslContext context() {
    SslContextBuilder b = SslContextBuilder.forClient().protocols("TLSv1.3", "TLSv1.2")
        .endpointIdentificationAlgorithm(verifyHostname ? "HTTPS" : null);
    if (trustedCaFile != null) {
      b.trustManager(trustedCaFile.toFile());
    } else if (trustedCas != null) {
      b.trustManager(trustedCas);
    }
    if (certificateChain != null) {
      b.keyManager(certificateChain.toFile(), privateKey.toFile());
    }
    try {
      return b.build();
    } catch (SSLException e) {
      throw new IllegalArgumentException("TLS: cannot use the trust material or client certificate: " + e.getMessage(), e);
    }
  }

  /** A handler for a connection to {@code endpoint}. */
  static SslHandler newHandler(SslContext context, ClientTls tls, ByteBufAllocator alloc, InetSocketAddress endpoint) {
    String host = tls.serverName != null ? tls.serverName : endpoint.getHostString();
    SslHandler h = context.newHandler(alloc, host, endpoint.getPort());
    if (tls.verifyHostname) {
      SSLEngine engine = h.engine();
      SSLParameters p = engine.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("HTTPS");
      engine.setSSLParameters(p);
    }
    h.setHandshakeTimeoutMillis(0); // the client's connect timeout bounds the whole handshake
    return h;
  }

  @Override
  public String toString() {
    return "ClientTls[" + (trustedCaFile != null ? "trust " + trustedCaFile : trustedCas != null ? trustedCas.length
        + " trusted certificates" : "system trust") + (certificateChain != null ? ", client certificate "
        + certificateChain : "") + (verifyHostname ? "" : ", no hostname verification") + "]";
  }
}
