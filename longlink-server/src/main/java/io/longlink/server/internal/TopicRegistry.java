package io.longlink.server.internal;

import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Subscribers by topic. Thread-safe; a topic disappears with its last subscriber. */
final class TopicRegistry {
  private final ConcurrentHashMap<String, Set<Session>> byTopic = new ConcurrentHashMap<>();

  void subscribe(String topic, Session session) {
    byTopic.compute(topic, (t, subs) -> {
      Set<Session> s = subs != null ? subs : ConcurrentHashMap.newKeySet();
      s.add(session);
      return s;
    });
  }

  void unsubscribe(String topic, Session session) {
    byTopic.computeIfPresent(topic, (t, subs) -> {
      subs.remove(session);
      return subs.isEmpty() ? null : subs;
    });
  }

  /** A live view of the topic's subscribers; empty if none. */
  Set<Session> subscribers(String topic) {
    Set<Session> s = byTopic.get(topic);
    return s != null ? s : Collections.emptySet();
  }

  int topicCount() {
    return byTopic.size();
  }
}
