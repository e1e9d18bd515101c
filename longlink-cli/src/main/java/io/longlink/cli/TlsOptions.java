package io.longlink.cli;

import io.longlink.server.ServerTls;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * TLS of the client port and of the admin API as command-line options (a picocli mixin). Without
 * {@code --tls-cert} the client port speaks plaintext.
 */
public final class TlsOptions {
  @Option(names = "--tls-cert", paramLabel = "FILE",
      description = "Serve the client port over TLS (1.2/1.3) with this PEM certificate chain (with --tls-key). "
          + "Re-read when it changes.")
  Path cert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "PEM private key (PKCS#8) of --tls-cert.")
  Path key;

  @Option(names = "--tls-client-ca", paramLabel = "FILE",
      description = "Require client certificates issued by the authorities in this PEM file (mutual TLS).")
  Path clientCa;

  @Option(names = "--tls-reload-check", defaultValue = "2s",
      description = "How often the TLS files are checked for changes (default: ${DEFAULT-VALUE}; 0s: only on "
          + "POST /v1/tls/reload).")
  Duration reloadCheck;

  @Option(names = "--admin-tls-cert", paramLabel = "FILE",
      description = "Serve the admin API over HTTPS with this PEM certificate chain (default: --tls-cert's, if set).")
  Path adminCert;

  @Option(names = "--admin-tls-key", paramLabel = "FILE", description = "PEM private key of --admin-tls-cert.")
  Path adminKey;

  /** The client port's TLS, or {@code null} for plaintext. */
  public ServerTls serverTls() {
    if (cert == null && key == null) {
      if (clientCa != null) {
        throw new IllegalArgumentException("--tls-client-ca: " + clientCa + " given without --tls-cert and --tls-key");
      }
      return null;
    }
    ServerTls tls = pair("--tls-cert", cert, "--tls-key", key).reloadCheckInterval(reloadCheck);
    return clientCa == null ? tls : tls.requireClientCertificates(clientCa);
  }

  /** The admin API's TLS (its own files, else the client port's), or {@code null} for plain HTTP. */
  public ServerTls adminTls() {
    if (adminCert == null && adminKey == null) {
      return cert == null && key == null ? null : pair("--tls-cert", cert, "--tls-key", key);
    }
    return pair("--admin-tls-cert", adminCert, "--admin-tls-key", adminKey);
  }

  private static ServerTls pair(String certName, Path cert, String keyName, Path key) {
    if (cert == null || key == null) {
      throw new IllegalArgumentException(cert == null ? certName + ": missing (" + keyName + " " + key + " given)"
          : keyName + ": missing (" + certName + " " + cert + " given)");
    }
    return ServerTls.of(cert, key);
  }
}
