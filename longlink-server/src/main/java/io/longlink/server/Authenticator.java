package io.longlink.server;

import java.net.SocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides whether a HELLO may log in, and whether a fresh token (an AUTH frame, docs/PROTOCOL.md)
 * may replace a connection's expiring one. {@link #authenticate} is called on the connection's
 * event loop, so it must not block; an implementation that needs I/O (a backend callout) overrides
 * {@link #authenticateAsync} instead and answers later, off the loop.
 */
@FunctionalInterface
public interface Authenticator {

  /**
   * @param clientId the client id from HELLO (already checked against the protocol's rules)
   * @param token the token from HELLO or AUTH, possibly empty
   * @param remoteAddress where the connection comes from
   * @return the verdict; never {@code null}
   */
  AuthResult authenticate(String clientId, String token, SocketAddress remoteAddress);

  /**
   * The verdict, possibly later. The default answers {@link #authenticate} at once. An answer that
   * fails (exceptionally) refuses the login as unavailable, never accepts it.
   *
   * @param tls whether the connection is over TLS (for callouts that tell the backend)
   */
  default CompletionStage<AuthResult> authenticateAsync(String clientId, String token, SocketAddress remoteAddress,
      boolean tls) {
    return CompletableFuture.completedFuture(authenticate(clientId, token, remoteAddress));
  }

  /** Accepts any client id without a token; the subject is the client id. The default. */
  static Authenticator acceptAll() {
    return (clientId, token, remote) -> AuthResult.accept(clientId);
  }

  /**
   * The verdict on one login or token refresh.
   *
   * @param subject the principal sessions are bound to (a resume needs the same one)
   * @param reason why it was refused: for the server's log and metrics; the client is told only the code
   * @param validFor how long the credential stays valid from now; {@code null}: it does not expire.
   *     Before it runs out the server asks the client for a fresh token (REAUTH), and ends the
   *     connection with GOAWAY TOKEN_EXPIRED if none comes
   * @param permissions what the credential itself allows (e.g. a token's topic claims); {@code
   *     null}: the node's {@link Authorizer} alone decides
   * @param retryAfter for a refusal because a service the decision needs is down (the client gets
   *     GOAWAY UNAVAILABLE with this delay instead of AUTH_FAILED); {@code null} otherwise
   */
  record AuthResult(boolean accepted, String subject, String reason, Duration validFor, Authorizer.Permissions permissions,
      Duration retryAfter) {
    public AuthResult {
      Objects.requireNonNull(subject, "subject");
      Objects.requireNonNull(reason, "reason");
      if (validFor != null && validFor.isNegative()) {
        throw new IllegalArgumentException("validFor: " + validFor + " (expected: >= 0, or null for no expiry)");
      }
    }

    public AuthResult(boolean accepted, String subject, String reason) {
      this(accepted, subject, reason, null, null, null);
    }

    /** Accepted; {@code subject} names the principal (sessions are bound to it). */
    public static AuthResult accept(String subject) {
      return new AuthResult(true, subject, "", null, null, null);
    }

    /** Accepted until {@code validFor} from now, with what the credential allows ({@code null}: the authorizer decides). */
    public static AuthResult accept(String subject, Duration validFor, Authorizer.Permissions permissions) {
      return new AuthResult(true, subject, "", validFor, permissions, null);
    }

    /** Refused; {@code reason} goes to the server's log, the client gets AUTH_FAILED. */
    public static AuthResult reject(String reason) {
      return new AuthResult(false, "", reason, null, null, null);
    }

    /** Refused because a service the decision needs is down: the client retries after {@code retryAfter}. */
    public static AuthResult unavailable(String reason, Duration retryAfter) {
      return new AuthResult(false, "", reason, null, null, Objects.requireNonNull(retryAfter, "retryAfter"));
    }
  }
}
