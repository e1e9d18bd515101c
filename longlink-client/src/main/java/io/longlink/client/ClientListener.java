package io.longlink.client;

/**
 * Receives what happens to a {@link LonglinkClient}. Methods are called on the client's I/O thread,
 * one at a time and in order; they must not block (hand long work to another executor).
 */
public interface ClientListener {
  /**
   * A message arrived. Within a session each is delivered exactly once and in the server's order,
   * across reconnects too; a gap can only follow {@link #onSessionLost} or {@link #onMessagesDropped}.
   */
  default void onMessage(ReceivedMessage message) {}

  /**
   * The client moved from {@code previous} to {@code current}.
   *
   * @param cause why, when the move was not asked for by the application (an I/O error, a
   *     {@link LonglinkException} with the server's code, a heartbeat timeout); else {@code null}
   */
  default void onStateChanged(ClientState previous, ClientState current, Throwable cause) {}

  /**
   * The server dropped the messages in between, oldest first, to keep this client's buffer bounded
   * (its drop-oldest slow-consumer policy). Called in sequence order, where the messages would have
   * been delivered; the session continues.
   */
  default void onMessagesDropped(MessagesDroppedEvent event) {}

  /**
   * The heartbeat interval changed: learned, held, stepped back after NAT expiry, or restored at a
   * login. Only for a client built with {@link AdaptiveHeartbeat}.
   */
  default void onHeartbeatChanged(HeartbeatChange change) {}

  /** The client moved to another fallback tier ({@link Fallback}); its session resumes there. */
  default void onRouteChanged(RouteChange change) {}

  /** The session could not be resumed; a fresh one replaced it. Called before the state becomes CONNECTED. */
  default void onSessionLost(SessionLostEvent event) {}
}
