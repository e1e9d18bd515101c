package io.longlink.server.auth;

import io.longlink.server.Authorizer.Permissions;
import java.util.List;

/**
 * What a credential grants, as lists of {@link Glob} patterns per kind of target: topics to
 * subscribe to, topics to publish to, client ids to send (and send requests) to. A missing list
 * restricts nothing of its kind. The one reading of a token's claims and a callout's answer.
 */
final class TopicGrants {
  private TopicGrants() {}

  /** The permissions of these lists ({@code null}: no restriction of that kind); {@code null} when all three are. */
  static Permissions of(List<String> subscribe, List<String> publish, List<String> send) {
    if (subscribe == null && publish == null && send == null) {
      return null;
    }
    List<Glob> sub = globs(subscribe);
    List<Glob> pub = globs(publish);
    List<Glob> to = globs(send);
    return (action, target) -> {
      List<Glob> rules = switch (action) {
        case SUBSCRIBE -> sub;
        case PUBLISH -> pub;
        case SEND, REQUEST -> to;
      };
      if (rules == null) {
        return true;
      }
      for (Glob g : rules) {
        if (g.matches(target)) {
          return true;
        }
      }
      return false;
    };
  }

  private static List<Glob> globs(List<String> patterns) {
    return patterns == null ? null : patterns.stream().map(Glob::of).toList();
  }
}
