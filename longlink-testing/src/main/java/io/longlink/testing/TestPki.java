package io.longlink.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates for TLS tests, made when the test runs (none are checked in, so none expire in the
 * repository): a certificate authority, and leaf certificates it signs for servers (names {@code
 * localhost} and {@code 127.0.0.1}) and clients, valid now or already expired, written as PEM files
 * the way an operator would hand them to the gateway.
 */
public final class TestPki {
  private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime() & 0xFFFFFFFFL);

  /** A certificate and its private key, in memory and as PEM files. */
  public record Issued(X509Certificate certificate, KeyPair keys, Path certificateFile, Path keyFile) {}

  private final String name;
  private final KeyPair caKeys;
  private final X509Certificate ca;
  private final Path dir;
  private final Path caFile;

  private TestPki(String name, Path dir) {
    this.name = name;
    this.dir = dir;
    this.caKeys = ecKeys();
    Instant now = Instant.now();
    this.ca = sign(new X500Name("CN=" + name + " test CA"), caKeys, new X500Name("CN=" + name + " test CA"), caKeys,
        now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(2)), true, null);
    this.caFile = write(dir.resolve(name + "-ca.pem"), ca);
  }

  /** A new certificate authority whose files go to {@code dir}. */
  public static TestPki create(String name, Path dir) {
    return new TestPki(name, dir);
  }

  /** The CA certificate's PEM file: what a client trusts, or what a server trusts for client certificates. */
  public Path caFile() {
    return caFile;
  }

  public X509Certificate ca() {
    return ca;
  }

  /** A server certificate for {@code localhost} and {@code 127.0.0.1}, valid from now for a day. */
  public Issued server(String fileName) {
    Instant now = Instant.now();
    return issue(fileName, "localhost", now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(1)), true);
  }

  /** A server certificate that expired an hour ago. */
  public Issued expiredServer(String fileName) {
    Instant now = Instant.now();
    return issue(fileName, "localhost", now.minus(Duration.ofDays(2)), now.minus(Duration.ofHours(1)), true);
  }

  /** A client certificate for {@code commonName}, valid from now for a day. */
  public Issued client(String fileName, String commonName) {
    Instant now = Instant.now();
    return issue(fileName, commonName, now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(1)), false);
  }

  private Issued issue(String fileName, String commonName, Instant from, Instant to, boolean server) {
    KeyPair keys = ecKeys();
    X509Certificate cert = sign(new X500Name("CN=" + commonName), keys, new X500Name("CN=" + name + " test CA"),
        caKeys, from, to, false, server ? commonName : null);
    Path certFile = write(dir.resolve(fileName + ".pem"), cert);
    Path keyFile = write(dir.resolve(fileName + "-key.pem"), keys.getPrivate());
    return new Issued(cert, keys, certFile, keyFile);
  }

  private static KeyPair ecKeys() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(256);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate sign(X500Name subject, KeyPair subjectKeys, X500Name issuer, KeyPair issuerKeys,
      Instant from, Instant to, boolean isCa, String serverName) {
    try {
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
          Date.from(from), Date.from(to), subject, subjectKeys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
      if (isCa) {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
            serverName != null ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
      }
      if (serverName != null) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
            new GeneralName(GeneralName.dNSName, serverName), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
      }
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot make a test certificate for " + subject, e);
    }
  }

  private static Path write(Path file, Object pemObject) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      if (pemObject instanceof java.security.PrivateKey key) {
        w.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, null)); // PKCS#8: what every TLS provider reads
      } else {
        w.writeObject(pemObject);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, out.toString());
      // Atomic: a gateway watching the file never reads half of it.
      Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
