package io.longlink.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.longlink.server.Authorizer.Action;
import io.longlink.server.Authorizer.Permissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * The ACL parser and its decisions (docs/OPERATIONS.md, "Fuzzing"). Contracts: any text either
 * parses or is refused with an {@link IllegalArgumentException} naming the line; a {@link Glob}
 * matches exactly what a reference matcher says; and a rules file rendered from
 * fuzzed rules decides every request as the first matching rule says (deny when none does).
 * Without {@code JAZZER_FUZZ} this replays the inputs under {@code AclAuthorizerFuzzTestInputs}.
 */
class AclAuthorizerFuzzTest {
  private static final String[] NAMES = {"alice", "bob", "news", "news.sport", "chat.alice", "*", "a*b", "**",
      "{principal}", "chat.{principal}", "x"};

  @FuzzTest
  void anyText(FuzzedDataProvider data) {
    String text = data.consumeRemainingAsString();
    AclAuthorizer acl;
    try {
      acl = AclAuthorizer.parse(text, "fuzz.acl");
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).startsWith("fuzz.acl line ");
      return;
    }
    Permissions p = acl.permissions("alice", "alice", null);
    for (Action a : Action.values()) {
      p.allows(a, "news");
      p.allows(a, "");
    }
  }

  @FuzzTest
  void globMatchesLikeARegex(FuzzedDataProvider data) {
    String pattern = data.consumeString(16);
    String name = data.consumeRemainingAsString();
    if (pattern.isEmpty()) {
      return;
    }
    assertThat(Glob.of(pattern).matches(name)).as("%s ~ %s", pattern, name).isEqualTo(reference(pattern, name));
  }

  record Rule(String principal, EnumSet<Action> actions, String target, boolean allow) {}

  @FuzzTest
  void firstMatchingRuleDecides(FuzzedDataProvider data) {
    List<Rule> rules = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    int n = data.consumeInt(0, 8);
    for (int i = 0; i < n; i++) {
      EnumSet<Action> actions = EnumSet.noneOf(Action.class);
      for (Action a : Action.values()) {
        if (data.consumeBoolean()) {
          actions.add(a);
        }
      }
      boolean star = actions.isEmpty() || data.consumeInt(0, 7) == 0;
      if (star) {
        actions = EnumSet.allOf(Action.class);
      }
      Rule r = new Rule(name(data), actions, name(data), data.consumeBoolean());
      rules.add(r);
      StringBuilder acts = new StringBuilder();
      for (Action a : r.actions()) {
        acts.append(acts.length() == 0 ? "" : ",").append(a.name().toLowerCase(java.util.Locale.ROOT));
      }
      text.append(data.consumeBoolean() ? "  " : "").append(r.principal()).append(data.consumeBoolean() ? "\t" : " ")
          .append(star ? "*" : acts).append(' ').append(r.target()).append(' ')
          .append(r.allow() ? (data.consumeBoolean() ? "allow" : "ALLOW") : "deny")
          .append(data.consumeBoolean() ? " # note" : "").append(data.consumeBoolean() ? "\r\n" : "\n");
    }
    AclAuthorizer acl = AclAuthorizer.parse(text.toString(), "fuzz.acl");
    assertThat(acl.size()).isEqualTo(rules.size());
    String principal = name(data).replace("{principal}", "p");
    Permissions p = acl.permissions(principal, principal, null);
    for (int q = 0; q < 4; q++) {
      Action a = Action.values()[data.consumeInt(0, Action.values().length - 1)];
      String target = name(data).replace("{principal}", principal);
      boolean expected = false;
      for (Rule r : rules) {
        if (r.actions().contains(a) && reference(r.principal(), principal)
            && reference(r.target().replace("{principal}", principal), target)) {
          expected = r.allow();
          break;
        }
      }
      assertThat(p.allows(a, target)).as("%s %s %s under\n%s", principal, a, target, text).isEqualTo(expected);
    }
  }

  private static String name(FuzzedDataProvider data) {
    if (data.consumeBoolean()) {
      return NAMES[data.consumeInt(0, NAMES.length - 1)];
    }
    String s = data.consumeAsciiString(10).replaceAll("[\\s#,\\p{Cntrl}]", ""); // names have no control characters
    return s.isEmpty() ? "x" : s;
  }

  /**
   * The reference meaning of a pattern, by dynamic programming rather than {@link Glob}'s greedy
   * scan (a regular expression would backtrack exponentially on patterns like {@code *a*a*a*}):
   * {@code *} is any run of characters, everything else literal.
   */
  private static boolean reference(String glob, String name) {
    boolean[] prev = new boolean[name.length() + 1];
    prev[0] = true;
    for (int i = 0; i < glob.length(); i++) {
      char g = glob.charAt(i);
      boolean[] cur = new boolean[name.length() + 1];
      cur[0] = g == '*' && prev[0];
      for (int j = 1; j <= name.length(); j++) {
        cur[j] = g == '*' ? prev[j] || cur[j - 1] : prev[j - 1] && name.charAt(j - 1) == g;
      }
      prev = cur;
    }
    return prev[name.length()];
  }
}
