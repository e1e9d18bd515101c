package io.longlink.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.longlink.server.Authenticator.AuthResult;
import io.longlink.server.Authorizer.Action;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a token can be wrong, against keys of each kind, on a fixed clock. */
class JwtAuthenticatorTest {
  static final Instant NOW = Instant.parse("2026-12-07T08:00:00Z");
  static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  static final byte[] SECRET = "0123456789abcdef0123456789abcdef-secret".getBytes(StandardCharsets.UTF_8);

  static JWTClaimsSet.Builder claims(String sub) {
    return new JWTClaimsSet.Builder().subject(sub).issuer("https://auth.example").audience("longlink")
        .expirationTime(Date.from(NOW.plus(Duration.ofMinutes(10))));
  }

  static String hs(JWTClaimsSet c) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), c);
    jwt.sign(new MACSigner(SECRET));
    return jwt.serialize();
  }

  /** Signs claims given as raw JSON, for shapes the claims builder would not make. */
  static String hsRaw(String json) throws Exception {
    com.nimbusds.jose.JWSObject jws = new com.nimbusds.jose.JWSObject(new JWSHeader(JWSAlgorithm.HS256),
        new com.nimbusds.jose.Payload(json));
    jws.sign(new MACSigner(SECRET));
    return jws.serialize();
  }

  static String rs(RSAKey key, JWTClaimsSet c) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).build(), c);
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  record Case(String name, String clientId, String token, boolean accepted, String reasonContains) {}

  @Test
  void hmacSecretTokensTable(@TempDir Path dir) throws Exception {
    Path key = Files.write(dir.resolve("secret"), SECRET);
    JwtAuthenticator auth = JwtAuthenticator.fromFile(key, "https://auth.example", "longlink", CLOCK, true);
    String valid = hs(claims("alice").build());
    String[] parts = valid.split("\\.");
    String forged = parts[0] + "." + Base64URL.encode(claims("mallory").build().toString()) + "." + parts[2];
    String none = new PlainJWT(claims("alice").build()).serialize();
    String noneHeaderSigned = Base64.getUrlEncoder().withoutPadding().encodeToString(
        "{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "." + parts[1] + "." + parts[2];
    List<Case> cases = List.of(
        new Case("valid", "alice", valid, true, ""),
        new Case("forged payload", "mallory", forged, false, "signature"),
        new Case("wrong issuer", "alice", hs(claims("alice").issuer("https://evil.example").build()), false, "iss"),
        new Case("wrong audience", "alice", hs(claims("alice").audience("other").build()), false, "aud"),
        new Case("expired", "alice", hs(claims("alice").expirationTime(Date.from(NOW.minusSeconds(60))).build()), false,
            "xpired"),
        new Case("not yet valid", "alice", hs(claims("alice").notBeforeTime(Date.from(NOW.plusSeconds(600))).build()),
            false, "before"),
        new Case("no exp", "alice", hs(claims("alice").expirationTime(null).build()), false, "exp"),
        new Case("alg none", "alice", none, false, ""),
        new Case("alg none header on a signed token", "alice", noneHeaderSigned, false, ""),
        new Case("principal is not the client id", "bob", valid, false, "not client id bob"),
        new Case("exp not a number", "alice", hs(claims("alice").claim("exp", "never").build()), false, "exp"),
        new Case("exp null", "alice", hsRaw("{\"sub\":\"alice\",\"iss\":\"https://auth.example\",\"aud\":\"longlink\","
            + "\"exp\":null}"), false, "NumericDate"),
        new Case("sub a number", "alice", hsRaw("{\"sub\":42,\"iss\":\"https://auth.example\",\"aud\":\"longlink\","
            + "\"exp\":" + NOW.plusSeconds(600).getEpochSecond() + "}"), false, "principal 42"),
        new Case("garbage", "alice", "not.a.jwt", false, ""),
        new Case("empty", "alice", "", false, "no token"));
    for (Case c : cases) {
      AuthResult r = auth.authenticate(c.clientId(), c.token(), null);
      assertThat(r.accepted()).as(c.name() + ": " + r.reason()).isEqualTo(c.accepted());
      assertThat(r.reason()).as(c.name()).contains(c.reasonContains());
      if (c.accepted()) {
        assertThat(r.subject()).isEqualTo("alice");
        assertThat(r.validFor()).isEqualTo(Duration.ofMinutes(10));
      }
    }
  }

  @Test
  void rsaPublicKeyRefusesHmacTokensSignedWithThatKey(@TempDir Path dir) throws Exception {
    RSAKey rsa = new RSAKeyGenerator(2048).generate();
    String pem = "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(rsa.toRSAPublicKey().getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
    Path key = Files.writeString(dir.resolve("rsa.pem"), pem);
    JwtAuthenticator auth = JwtAuthenticator.fromFile(key, null, null, CLOCK, true);
    assertThat(auth.authenticate("alice", rs(rsa, claims("alice").build()), null).accepted()).isTrue();
    // Algorithm confusion: an HS256 token whose "secret" is the public key's bytes, as a naive verifier would check it.
    SignedJWT confused = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims("alice").build());
    confused.sign(new MACSigner(pem.getBytes(StandardCharsets.UTF_8)));
    AuthResult r = auth.authenticate("alice", confused.serialize(), null);
    assertThat(r.accepted()).isFalse();
    // Another RSA key's signature.
    assertThat(auth.authenticate("alice", rs(new RSAKeyGenerator(2048).generate(), claims("alice").build()), null)
        .accepted()).isFalse();
    // A JWKS document with the same key works too.
    Path jwks = Files.writeString(dir.resolve("jwks.json"), new JWKSet(rsa.toPublicJWK()).toString());
    assertThat(JwtAuthenticator.fromFile(jwks, null, null, CLOCK, true)
        .authenticate("alice", rs(rsa, claims("alice").build()), null).accepted()).isTrue();
  }

  @Test
  void topicClaimsBecomePermissions() throws Exception {
    JwtAuthenticator auth = JwtAuthenticator.of(new JWKSet(new com.nimbusds.jose.jwk.OctetSequenceKey.Builder(SECRET)
        .build()), null, null, CLOCK, true);
    String t = hs(claims("alice").claim("sub_topics", List.of("news.*")).claim("pub_topics", List.of("chat.alice"))
        .build());
    AuthResult r = auth.authenticate("alice", t, null);
    assertThat(r.accepted()).as(r.reason()).isTrue();
    Function<String, Boolean> sub = topic -> r.permissions().allows(Action.SUBSCRIBE, topic);
    assertThat(sub.apply("news.sport")).isTrue();
    assertThat(sub.apply("weather")).isFalse();
    assertThat(r.permissions().allows(Action.PUBLISH, "chat.alice")).isTrue();
    assertThat(r.permissions().allows(Action.PUBLISH, "chat.bob")).isFalse();
    assertThat(r.permissions().allows(Action.SEND, "bob")).isTrue(); // no send_to claim: unrestricted
    assertThat(auth.authenticate("alice", hs(claims("alice").build()), null).permissions()).isNull();
  }

  @Test
  void unusableKeyFilesSayWhy(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> JwtAuthenticator.fromFile(Files.writeString(dir.resolve("short"), "tiny"), null, null,
        CLOCK, true)).hasMessageContaining("4-byte secret").hasMessageContaining("at least 32 bytes");
    assertThatThrownBy(() -> JwtAuthenticator.fromFile(Files.writeString(dir.resolve("priv.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), null, null, CLOCK, true))
        .hasMessageContaining("never give the gateway a private key");
  }
}
