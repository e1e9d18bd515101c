package io.longlink.server;

import java.net.SocketAddress;

/**
 * Decides whether a HELLO may log in. Called on the connection's event loop for every handshake,
 * so it must not block; an implementation that needs I/O should answer from a cache.
 */
@FunctionalInterface
public interface Authenticator {

  /**
   * @param clientId the client id from HELLO (already checked against the protocol's rules)
   * @param token the token from HELLO, possibly empty
   * @param remoteAddress where the connection comes from
   * @return the verdict; never {@code null}
   */
  AuthResult authenticate(String clientId, String token, SocketAddress remoteAddress);

  /** Accepts any client id without a token; the subject is the client id. The default. */
  static Authenticator acceptAll() {
    return (clientId, token, remote) -> AuthResult.accept(clientId);
  }

  /** The verdict on one login. */
  record AuthResult(boolean accepted, String subject, String reason) {
    /** Accepted; {@code subject} names the principal (sessions are bound to it). */
    public static AuthResult accept(String subject) {
      return new AuthResult(true, subject, "");
    }

    /** Refused; {@code reason} goes to the client in the ERROR frame, so keep secrets out of it. */
    public static AuthResult reject(String reason) {
      return new AuthResult(false, "", reason);
    }
  }
}
