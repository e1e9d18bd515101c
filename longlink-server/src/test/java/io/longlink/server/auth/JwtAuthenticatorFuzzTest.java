package io.longlink.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.longlink.server.Authenticator.AuthResult;
import io.longlink.server.Authorizer.Action;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.List;

/**
 * The token path against hostile tokens (docs/OPERATIONS.md, "Fuzzing"). Contract: {@link
 * JwtAuthenticator#authenticate} never throws, and accepts a token only if an independent check
 * agrees: an HS256 signature by the node's key over exactly these bytes, {@code sub} equal to the
 * client id, the configured issuer and audience, {@code exp} in the future and {@code nbf} (if
 * any) not. The permissions of an accepted token answer for any topic without throwing. Without
 * {@code JAZZER_FUZZ} this replays the inputs under {@code JwtAuthenticatorFuzzTestInputs}.
 */
class JwtAuthenticatorFuzzTest {
  static final Instant NOW = Instant.parse("2026-12-07T08:00:00Z");
  static final byte[] SECRET = "0123456789abcdef0123456789abcdef-secret".getBytes(StandardCharsets.UTF_8);
  static final String ISSUER = "https://auth.example";
  static final String AUDIENCE = "longlink";
  static final JwtAuthenticator AUTH = JwtAuthenticator.of(new JWKSet(new OctetSequenceKey.Builder(SECRET).build()),
      ISSUER, AUDIENCE, Clock.fixed(NOW, ZoneOffset.UTC), true);
  private static final String[] ALGS = {"HS256", "HS384", "HS512", "RS256", "ES256", "PS256", "none", "EdDSA", ""};

  /** Any string as the token: refused, unless it happens to be a token the key signed. */
  @FuzzTest
  void anyToken(FuzzedDataProvider data) {
    checked("alice", data.consumeRemainingAsString());
  }

  /**
   * Headers and claims of every shape (wrong types, odd algorithms, {@code crit}, arrays where
   * strings belong), signed with the node's key where the header allows it, or with a forged
   * signature part.
   */
  @FuzzTest
  void signedHeadersAndClaims(FuzzedDataProvider data) {
    String alg = data.consumeBoolean() ? "HS256" : ALGS[data.consumeInt(0, ALGS.length - 1)];
    StringBuilder header = new StringBuilder("{\"alg\":\"").append(alg).append('"');
    if (data.consumeBoolean()) {
      header.append(",\"typ\":\"").append(data.consumeBoolean() ? "JWT" : data.consumeAsciiString(6)).append('"');
    }
    if (data.consumeBoolean()) {
      header.append(",\"crit\":[\"").append(data.consumeAsciiString(6)).append("\"]");
    }
    if (data.consumeBoolean()) {
      header.append(",\"kid\":").append(json(data));
    }
    header.append('}');
    StringBuilder claims = new StringBuilder("{");
    String clientId = data.consumeBoolean() ? "alice" : data.consumeAsciiString(8);
    claim(claims, "sub", data.consumeBoolean() ? "\"alice\"" : json(data));
    claim(claims, "iss", data.consumeBoolean() ? "\"" + ISSUER + "\"" : json(data));
    claim(claims, "aud", switch (data.consumeInt(0, 2)) {
      case 0 -> "\"" + AUDIENCE + "\"";
      case 1 -> "[\"other\",\"" + AUDIENCE + "\"]";
      default -> json(data);
    });
    long nowSec = NOW.getEpochSecond();
    claim(claims, "exp", data.consumeBoolean() ? Long.toString(nowSec + data.consumeLong(-120, 3600)) : json(data));
    if (data.consumeBoolean()) {
      claim(claims, "nbf", data.consumeBoolean() ? Long.toString(nowSec + data.consumeLong(-120, 120)) : json(data));
    }
    for (String c : new String[] {"sub_topics", "pub_topics", "send_to"}) {
      if (data.consumeBoolean()) {
        claim(claims, c, data.consumeBoolean() ? "[\"" + data.consumeAsciiString(8) + "\"]" : json(data));
      }
    }
    claims.setCharAt(claims.length() - 1, '}');
    if (claims.length() == 1) {
      claims.append('}');
    }
    String token = encode(header.toString()) + "." + encode(claims.toString()) + ".";
    if (data.consumeBoolean()) {
      try {
        JWSObject jws = new JWSObject(JWSHeader.parse(header.toString()), new Payload(claims.toString()));
        jws.sign(new MACSigner(SECRET));
        token = jws.serialize();
      } catch (Exception e) {
        token += encode(data.consumeAsciiString(16)); // not a header the signer takes: a forged signature
      }
    } else {
      token += encode(data.consumeRemainingAsString());
    }
    checked(clientId, token);
  }

  private static void checked(String clientId, String token) {
    AuthResult r = AUTH.authenticate(clientId, token, null);
    if (!r.accepted()) {
      assertThat(r.reason()).as("a refusal says why").isNotEmpty();
      return;
    }
    try {
      SignedJWT jwt = SignedJWT.parse(token);
      assertThat(jwt.getHeader().getAlgorithm().getName()).startsWith("HS");
      assertThat(jwt.verify(new MACVerifier(SECRET))).as("signature").isTrue();
      JWTClaimsSet c = jwt.getJWTClaimsSet();
      assertThat(c.getSubject()).isEqualTo(clientId).isEqualTo(r.subject());
      assertThat(c.getIssuer()).isEqualTo(ISSUER);
      assertThat(c.getAudience()).contains(AUDIENCE);
      Date exp = c.getExpirationTime();
      assertThat(exp).isNotNull();
      assertThat(exp.toInstant()).isAfter(NOW.minus(JwtAuthenticator.CLOCK_SKEW));
      if (c.getNotBeforeTime() != null) {
        assertThat(c.getNotBeforeTime().toInstant()).isBeforeOrEqualTo(NOW.plus(JwtAuthenticator.CLOCK_SKEW));
      }
    } catch (java.text.ParseException | com.nimbusds.jose.JOSEException e) {
      throw new AssertionError("accepted a token an independent check cannot read: " + token, e);
    }
    assertThat(r.validFor()).isNotNull();
    assertThat(r.validFor().isNegative()).isFalse();
    if (r.permissions() != null) {
      for (Action a : Action.values()) {
        r.permissions().allows(a, "news.sport");
        r.permissions().allows(a, "");
      }
    }
  }

  private static void claim(StringBuilder b, String name, String value) {
    b.append('"').append(name).append("\":").append(value).append(',');
  }

  /** A JSON value of a fuzzed kind. */
  private static String json(FuzzedDataProvider data) {
    return switch (data.consumeInt(0, 6)) {
      case 0 -> "null";
      case 1 -> Long.toString(data.consumeLong());
      case 2 -> Double.toString(data.consumeDouble());
      case 3 -> "true";
      case 4 -> "[" + data.consumeInt() + ",\"" + escape(data.consumeAsciiString(6)) + "\"]";
      case 5 -> "{\"a\":" + data.consumeInt() + "}";
      default -> "\"" + escape(data.consumeString(12)) + "\"";
    };
  }

  private static String escape(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\' || c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  private static String encode(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
