package io.longlink.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import io.longlink.server.Authenticator;
import io.longlink.server.Authorizer;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Logs clients in with signed JSON Web Tokens. The key file is an HS256 secret (at least 32 bytes),
 * an RSA or EC public key in PEM, or a JWKS document; only the algorithms that key allows are
 * accepted (so {@code alg: none} and HS/RS confusion are refused). The token must carry {@code sub}
 * (the principal) and {@code exp}, and {@code iss}/{@code aud} when configured; {@code nbf} is
 * honoured. By default the client id must equal {@code sub}. Optional claims {@code sub_topics},
 * {@code pub_topics} and {@code send_to} (lists of {@link Glob} patterns) restrict what the client
 * may subscribe to, publish to and send to; a missing claim restricts nothing.
 *
 * <p>Verification is CPU only (no I/O), so it runs on the event loop. Thread-safe.
 */
public final class JwtAuthenticator implements Authenticator {
  /** Allowed clock difference between the token's issuer and this node. */
  public static final Duration CLOCK_SKEW = Duration.ofSeconds(30);

  private final DefaultJWTProcessor<SecurityContext> processor;
  private final Clock clock;
  private final boolean clientIdMustMatch;

  private JwtAuthenticator(DefaultJWTProcessor<SecurityContext> processor, Clock clock, boolean clientIdMustMatch) {
    this.processor = processor;
    this.clock = clock;
    this.clientIdMustMatch = clientIdMustMatch;
  }

  /**
   * @param keyFile an HS256 secret, an RSA/EC public key (PEM) or a JWKS document
   * @param issuer required {@code iss}, or {@code null}
   * @param audience required {@code aud} (one of the token's), or {@code null}
   * @throws IllegalArgumentException the file holds no usable key; the message says why
   */
  public static JwtAuthenticator fromFile(Path keyFile, String issuer, String audience, Clock clock,
      boolean clientIdMustMatch) {
    String text;
    try {
      text = Files.readString(keyFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("jwt key: cannot read " + keyFile + ": " + e.getMessage(), e);
    }
    return of(keys(text, keyFile), issuer, audience, clock, clientIdMustMatch);
  }

  /** With the keys in {@code keys} (for tests and embedders that hold the keys themselves). */
  public static JwtAuthenticator of(JWKSet keys, String issuer, String audience, Clock clock, boolean clientIdMustMatch) {
    Objects.requireNonNull(clock, "clock");
    Set<JWSAlgorithm> algorithms = new HashSet<>();
    for (JWK k : keys.getKeys()) {
      algorithms.addAll(algorithmsFor(k));
    }
    if (algorithms.isEmpty()) {
      throw new IllegalArgumentException("jwt key: no RSA, EC or octet key in the key set (expected: at least one)");
    }
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    p.setJWSKeySelector(new JWSVerificationKeySelector<>(algorithms, new ImmutableJWKSet<>(keys)));
    JWTClaimsSet.Builder exact = new JWTClaimsSet.Builder();
    if (issuer != null && !issuer.isEmpty()) {
      exact.issuer(issuer);
    }
    Set<String> required = new HashSet<>(List.of("sub", "exp"));
    DefaultJWTClaimsVerifier<SecurityContext> verifier = new DefaultJWTClaimsVerifier<>(
        audience == null || audience.isEmpty() ? null : Set.of(audience), exact.build(), required, null) {
      @Override
      protected Date currentTime() {
        return Date.from(clock.instant());
      }
    };
    verifier.setMaxClockSkew((int) CLOCK_SKEW.toSeconds());
    p.setJWTClaimsSetVerifier(verifier);
    return new JwtAuthenticator(p, clock, clientIdMustMatch);
  }

  private static Set<JWSAlgorithm> algorithmsFor(JWK k) {
    if (k.getAlgorithm() instanceof JWSAlgorithm a) {
      return Set.of(a); // the key names its algorithm: only that one
    }
    if (k.getKeyType() == KeyType.OCT) {
      return Set.of(JWSAlgorithm.HS256, JWSAlgorithm.HS384, JWSAlgorithm.HS512);
    }
    if (k.getKeyType() == KeyType.RSA) {
      return Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512, JWSAlgorithm.PS256, JWSAlgorithm.PS384,
          JWSAlgorithm.PS512);
    }
    if (k instanceof ECKey ec) {
      Curve c = ec.getCurve();
      return c == Curve.P_256 ? Set.of(JWSAlgorithm.ES256) : c == Curve.P_384 ? Set.of(JWSAlgorithm.ES384)
          : c == Curve.P_521 ? Set.of(JWSAlgorithm.ES512) : Set.of();
    }
    return Set.of();
  }

  private static JWKSet keys(String text, Path file) {
    String t = text.trim();
    try {
      if (t.startsWith("{")) {
        JWKSet set = JWKSet.parse(t);
        return set.getKeys().isEmpty() ? new JWKSet(JWK.parse(t)) : set; // a JWKS, or one JWK
      }
      if (t.contains("-----BEGIN")) {
        return new JWKSet(publicKey(t, file));
      }
    } catch (java.text.ParseException e) {
      throw new IllegalArgumentException("jwt key: " + file + " is not a valid JWKS/JWK document: " + e.getMessage(), e);
    }
    byte[] secret = t.getBytes(StandardCharsets.UTF_8);
    if (secret.length < 32) {
      throw new IllegalArgumentException("jwt key: " + file + " holds a " + secret.length + "-byte secret (expected: "
          + "an HS256 secret of at least 32 bytes, a PEM public key or a JWKS document)");
    }
    return new JWKSet(new com.nimbusds.jose.jwk.OctetSequenceKey.Builder(secret).build());
  }

  private static JWK publicKey(String pem, Path file) {
    if (!pem.contains("-----BEGIN PUBLIC KEY-----")) {
      throw new IllegalArgumentException("jwt key: " + file + " (expected: a PEM \"PUBLIC KEY\", i.e. the verifying half: "
          + "never give the gateway a private key)");
    }
    String b64 = pem.substring(pem.indexOf("-----BEGIN PUBLIC KEY-----") + 26, pem.indexOf("-----END PUBLIC KEY-----"))
        .replaceAll("\\s", "");
    X509EncodedKeySpec spec = new X509EncodedKeySpec(Base64.getDecoder().decode(b64));
    List<String> tried = new ArrayList<>();
    for (String algorithm : List.of("RSA", "EC")) {
      try {
        PublicKey k = KeyFactory.getInstance(algorithm).generatePublic(spec);
        if (k instanceof RSAPublicKey rsa) {
          return new RSAKey.Builder(rsa).build();
        }
        ECPublicKey ec = (ECPublicKey) k;
        return new ECKey.Builder(Curve.forECParameterSpec(ec.getParams()), ec).build();
      } catch (java.security.GeneralSecurityException | RuntimeException e) {
        tried.add(algorithm + ": " + e.getMessage());
      }
    }
    throw new IllegalArgumentException("jwt key: " + file + " is neither an RSA nor an EC public key (" + tried + ")");
  }

  @Override
  public AuthResult authenticate(String clientId, String token, SocketAddress remoteAddress) {
    if (token.isEmpty()) {
      return AuthResult.reject("no token (expected: a signed JWT)");
    }
    JWTClaimsSet claims;
    try {
      claims = processor.process(token, null);
    } catch (java.text.ParseException e) {
      return AuthResult.reject("token is not a JWT: " + e.getMessage());
    } catch (com.nimbusds.jose.proc.BadJOSEException | JOSEException e) {
      return AuthResult.reject("token refused: " + e.getMessage());
    } catch (RuntimeException e) {
      return AuthResult.reject("token refused: " + e);
    }
    // Present (the verifier checks that) is not enough: a claim of the wrong JSON type reads as null here.
    String sub = claims.getSubject();
    Date exp = claims.getExpirationTime();
    if (sub == null || sub.isEmpty() || exp == null) {
      return AuthResult.reject("token claims: sub must be a non-empty string and exp a NumericDate (got sub="
          + claims.getClaim("sub") + ", exp=" + claims.getClaim("exp") + ")");
    }
    if (clientIdMustMatch && !clientId.equals(sub)) {
      return AuthResult.reject("token is for principal " + sub + ", not client id " + clientId);
    }
    Duration validFor = Duration.between(clock.instant(), exp.toInstant());
    try {
      return AuthResult.accept(sub, validFor.isNegative() ? Duration.ZERO : validFor, permissions(claims));
    } catch (IllegalArgumentException | java.text.ParseException e) {
      return AuthResult.reject("token claims: " + e.getMessage());
    }
  }

  /** What the token's topic claims allow; {@code null} when it has none. */
  private static Authorizer.Permissions permissions(JWTClaimsSet claims) throws java.text.ParseException {
    return TopicGrants.of(claims.getStringListClaim("sub_topics"), claims.getStringListClaim("pub_topics"),
        claims.getStringListClaim("send_to"));
  }
}
