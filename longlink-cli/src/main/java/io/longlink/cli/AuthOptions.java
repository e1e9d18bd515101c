package io.longlink.cli;

import io.longlink.server.Authenticator;
import io.longlink.server.Authorizer;
import io.longlink.server.auth.AclAuthorizer;
import io.longlink.server.auth.HttpAuthenticator;
import io.longlink.server.auth.JwtAuthenticator;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import picocli.CommandLine.Option;

/** Who may log in and what they may do, as command-line options (a picocli mixin). */
public final class AuthOptions {
  /** How logins are decided. */
  public enum Mode {
    /** Anyone, with any client id and no token (the default: for loopback and development). */
    NONE,
    /** Signed JWTs (--jwt-key). */
    JWT,
    /** The application's backend decides (--auth-url). */
    HTTP
  }

  @Option(names = "--auth", defaultValue = "NONE",
      description = "How logins are decided: NONE (anyone), JWT (signed tokens, --jwt-key) or HTTP (a backend callout, "
          + "--auth-url) (default: ${DEFAULT-VALUE}).")
  Mode mode;

  @Option(names = "--jwt-key", paramLabel = "FILE",
      description = "With --auth jwt: an HS256 secret (>= 32 bytes), an RSA/EC public key (PEM) or a JWKS document.")
  Path jwtKey;

  @Option(names = "--jwt-issuer", defaultValue = "", description = "With --auth jwt: the required iss claim.")
  String jwtIssuer;

  @Option(names = "--jwt-audience", defaultValue = "", description = "With --auth jwt: the required aud claim.")
  String jwtAudience;

  @Option(names = "--auth-url", paramLabel = "URL", description = "With --auth http: where each login and refresh is POSTed.")
  URI authUrl;

  @Option(names = "--auth-timeout", defaultValue = "500ms",
      description = "With --auth http: deadline of each call; past it the login is refused as UNAVAILABLE "
          + "(default: ${DEFAULT-VALUE}).")
  Duration authTimeout;

  @Option(names = "--auth-concurrency", defaultValue = "256",
      description = "With --auth http: most calls in flight; more logins are refused as UNAVAILABLE "
          + "(default: ${DEFAULT-VALUE}).")
  int authConcurrency;

  @Option(names = "--acl", paramLabel = "FILE",
      description = "Authorization rules (PRINCIPAL ACTION TARGET allow|deny per line; first match wins; see "
          + "README, running on the internet). Default: what the token allows, everything without claims.")
  Path acl;

  @Option(names = "--token-refresh-ahead", defaultValue = "60s",
      description = "Ask clients for a fresh token this long before theirs expires (default: ${DEFAULT-VALUE}).")
  Duration refreshAhead;

  public Authenticator authenticator() {
    return switch (mode) {
      case NONE -> {
        if (jwtKey != null || authUrl != null) {
          throw new IllegalArgumentException("--auth: none, but " + (jwtKey != null ? "--jwt-key" : "--auth-url")
              + " given (expected: --auth jwt or --auth http)");
        }
        yield Authenticator.acceptAll();
      }
      case JWT -> {
        if (jwtKey == null) {
          throw new IllegalArgumentException("--auth jwt: needs --jwt-key FILE");
        }
        yield JwtAuthenticator.fromFile(jwtKey, jwtIssuer, jwtAudience, Clock.systemUTC(), true);
      }
      case HTTP -> {
        if (authUrl == null) {
          throw new IllegalArgumentException("--auth http: needs --auth-url URL");
        }
        yield new HttpAuthenticator(authUrl, authTimeout, authConcurrency, Clock.systemUTC());
      }
    };
  }

  public Authorizer authorizer() {
    return acl == null ? Authorizer.byCredential() : AclAuthorizer.fromFile(acl);
  }

  public Duration refreshAhead() {
    return refreshAhead;
  }
}
