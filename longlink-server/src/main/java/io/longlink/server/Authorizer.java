package io.longlink.server;

/**
 * Decides what an authenticated principal may do: send to a client id, publish to a topic,
 * subscribe to a topic, send a request. Asked once per login and token refresh for the
 * principal's {@link Permissions}; the node then consults those for each message, through a small
 * per-connection cache of decisions, so the message path does not grow. A denied message gets
 * {@code REJECT(seq, FORBIDDEN)}, a denied subscribe the same for its seq, a denied request a
 * FORBIDDEN response; the connection stays up.
 */
@FunctionalInterface
public interface Authorizer {
  /** What a client asks to do. */
  enum Action {
    /** DATA to a client id. */
    SEND,
    /** DATA to a topic. */
    PUBLISH,
    SUBSCRIBE,
    /** REQUEST to a client id (or the gateway's handler). */
    REQUEST
  }

  /** What one principal may do; thread-safe, and fast: consulted on the message path (behind a cache). */
  @FunctionalInterface
  interface Permissions {
    /** Everything. */
    Permissions ALL = (action, target) -> true;

    boolean allows(Action action, String target);

    /** Allowed by both. */
    default Permissions and(Permissions other) {
      if (this == ALL) {
        return other;
      }
      if (other == ALL) {
        return this;
      }
      return (action, target) -> allows(action, target) && other.allows(action, target);
    }
  }

  /**
   * @param principal the authenticated subject
   * @param clientId the connection's client id
   * @param granted what the credential itself allows ({@code null} when it says nothing)
   */
  Permissions permissions(String principal, String clientId, Permissions granted);

  /** What the credential grants, or everything when it says nothing. The default. */
  static Authorizer byCredential() {
    return (principal, clientId, granted) -> granted == null ? Permissions.ALL : granted;
  }
}
