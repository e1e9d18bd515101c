package io.longlink.server;

import io.longlink.protocol.Frame;
import java.util.HashSet;
import java.util.Set;

/**
 * One logged-in client's session: identity, the two sequence counters and its subscriptions.
 * Mutable fields belong to the event loop of the connection that currently holds the session.
 */
final class Session {
  final String clientId;
  final String subject;
  final String id;
  /** The connection holding this session; {@code null} once the session ended. */
  volatile ServerConnection connection;
  /** Highest client → server sequence number accepted. */
  long lastReceivedSeq;
  /** Highest server → client sequence number sent. */
  long lastSentSeq;
  /** Subscribed topics; allocated on the first subscription. */
  private Set<String> topics;

  Session(String clientId, String subject, String id, ServerConnection connection) {
    this.clientId = clientId;
    this.subject = subject;
    this.id = id;
    this.connection = connection;
  }

  /** Hands a message to the session's connection; returns false if the session has none. */
  boolean deliver(Frame.Data message) {
    ServerConnection c = connection;
    if (c == null) {
      return false;
    }
    c.deliver(message);
    return true;
  }

  boolean addTopic(String topic) {
    if (topics == null) {
      topics = new HashSet<>(4);
    }
    return topics.add(topic);
  }

  boolean removeTopic(String topic) {
    return topics != null && topics.remove(topic);
  }

  /** Removes and returns every topic; the set is empty afterwards. */
  Set<String> drainTopics() {
    Set<String> t = topics == null ? Set.of() : topics;
    topics = null;
    return t;
  }

  @Override
  public String toString() {
    return "session " + id + " (client " + clientId + ")";
  }
}
