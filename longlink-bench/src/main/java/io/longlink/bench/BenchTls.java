package io.longlink.bench;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.File;
import javax.net.ssl.SSLException;

/** The load generators' TLS: BoringSSL when it loads (as the gateway), trusting a CA file or anything. */
final class BenchTls {
  /** The argument that means "trust any certificate": a load generator against one's own gateway. */
  static final String TRUST_ANY = "trust-any";

  private BenchTls() {}

  static SslContext clientContext(String trust) throws SSLException {
    SslContextBuilder b = SslContextBuilder.forClient().protocols("TLSv1.3", "TLSv1.2")
        .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK);
    if (trust.equals(TRUST_ANY)) {
      b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
    } else {
      b.trustManager(new File(trust));
    }
    return b.build();
  }
}
