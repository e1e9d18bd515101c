package io.longlink.client;

/**
 * The server no longer had this client's session when it reconnected (it expired, was evicted, the
 * server restarted, or messages for it overflowed its buffer). The client has logged in with a
 * fresh session and re-subscribed its topics; what was in flight is accounted for here.
 *
 * @param oldSessionId the session that is gone
 * @param newSessionId the fresh session
 * @param messagesLostByServer messages for this client the server knows it dropped (0 if none
 *     or unknown)
 * @param unconfirmedSends this client's sends that had gone out but were never acknowledged: they
 *     may or may not have arrived. Their futures failed with {@link SessionLostException}
 */
public record SessionLostEvent(String oldSessionId, String newSessionId, long messagesLostByServer, int unconfirmedSends) {}
