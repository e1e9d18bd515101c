package io.longlink.server;

import static io.longlink.server.ConfigChecks.check;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * TLS for a listener: the certificate chain and private key it presents (PEM files), and optionally
 * the certificate authorities whose client certificates it requires (mutual TLS). TLS 1.2 and 1.3
 * only. The files are read when the node starts and again whenever they change on disk (checked
 * every {@link #reloadCheckInterval}) or {@link LonglinkServer#reloadTls()} is called: new
 * connections get the new certificate, established ones keep theirs. A reload that fails (a half-
 * written file, a key that does not match) keeps the previous certificate and is logged.
 *
 * @param certificateChain PEM file: the listener's certificate, then any intermediates
 * @param privateKey PEM file: its private key (PKCS#8, unencrypted)
 * @param clientCa PEM file of the authorities client certificates must chain to; {@code null}: no
 *     client certificates asked for
 * @param reloadCheckInterval how often the files are checked for changes; zero: only on demand
 */
public record ServerTls(Path certificateChain, Path privateKey, Path clientCa, Duration reloadCheckInterval) {
  public static final Duration DEFAULT_RELOAD_CHECK = Duration.ofSeconds(2);
  /** The protocol versions every longlink TLS listener speaks. */
  public static final java.util.List<String> PROTOCOLS = java.util.List.of("TLSv1.3", "TLSv1.2");

  public ServerTls {
    readable("certificateChain", certificateChain);
    readable("privateKey", privateKey);
    if (clientCa != null) {
      readable("clientCa", clientCa);
    }
    Objects.requireNonNull(reloadCheckInterval, "reloadCheckInterval");
    check(!reloadCheckInterval.isNegative(), "reloadCheckInterval", reloadCheckInterval, ">= 0");
  }

  /** Serves {@code certificateChain} with {@code privateKey}, no client certificates, default reload check. */
  public static ServerTls of(Path certificateChain, Path privateKey) {
    return new ServerTls(certificateChain, privateKey, null, DEFAULT_RELOAD_CHECK);
  }

  /** The same, requiring client certificates issued by the authorities in {@code clientCa} (mutual TLS). */
  public ServerTls requireClientCertificates(Path clientCa) {
    return new ServerTls(certificateChain, privateKey, Objects.requireNonNull(clientCa, "clientCa"), reloadCheckInterval);
  }

  /** The same, checking the files for changes every {@code interval} (zero: only on demand). */
  public ServerTls reloadCheckInterval(Duration interval) {
    return new ServerTls(certificateChain, privateKey, clientCa, interval);
  }

  public boolean mutual() {
    return clientCa != null;
  }

  private static void readable(String name, Path file) {
    Objects.requireNonNull(file, name);
    check(Files.isReadable(file) && !Files.isDirectory(file), name, file, "a readable PEM file");
  }
}
