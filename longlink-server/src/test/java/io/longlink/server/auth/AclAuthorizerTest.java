package io.longlink.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.longlink.server.Authorizer.Action;
import io.longlink.server.Authorizer.Permissions;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rules file: first match wins, {principal} stands for the asker, no match is deny, bad lines say which. */
class AclAuthorizerTest {
  static final String RULES = """
      # principal  action            target              verdict
      admin        *                 *                   allow
      *            subscribe         news.*              allow
      *            publish,send      {principal}.*       allow   # one's own namespace
      bot-*        send              *                   allow
      *            send              ops                 deny
      *            send              *                   allow
      """;

  record Case(String principal, Action action, String target, boolean allowed) {}

  @Test
  void firstMatchWinsTable() {
    AclAuthorizer acl = AclAuthorizer.parse(RULES, "test.acl");
    assertThat(acl.size()).isEqualTo(6);
    List<Case> cases = List.of(
        new Case("admin", Action.SUBSCRIBE, "secret.stuff", true),
        new Case("alice", Action.SUBSCRIBE, "news.sport", true),
        new Case("alice", Action.SUBSCRIBE, "secret.stuff", false),
        new Case("alice", Action.PUBLISH, "alice.status", true),
        new Case("alice", Action.PUBLISH, "bob.status", false),
        new Case("alice", Action.SEND, "ops", false),
        new Case("bot-7", Action.SEND, "ops", true),
        new Case("alice", Action.SEND, "bob", true),
        new Case("alice", Action.REQUEST, "bob", false));
    for (Case c : cases) {
      Permissions p = acl.permissions(c.principal(), c.principal(), null);
      assertThat(p.allows(c.action(), c.target())).as(c.toString()).isEqualTo(c.allowed());
    }
    // A token's claims apply too: both must allow.
    Permissions narrowed = acl.permissions("alice", "alice", (a, t) -> !t.equals("news.secret"));
    assertThat(narrowed.allows(Action.SUBSCRIBE, "news.sport")).isTrue();
    assertThat(narrowed.allows(Action.SUBSCRIBE, "news.secret")).isFalse();
  }

  @Test
  void badLinesNameTheLineAndWhatWasExpected() {
    assertThatThrownBy(() -> AclAuthorizer.parse("* send *\n", "f")).hasMessageContaining("f line 1")
        .hasMessageContaining("PRINCIPAL ACTION TARGET allow|deny");
    assertThatThrownBy(() -> AclAuthorizer.parse("\n* shout * allow\n", "f")).hasMessageContaining("f line 2")
        .hasMessageContaining("action \"shout\"");
    assertThatThrownBy(() -> AclAuthorizer.parse("* send * maybe", "f")).hasMessageContaining("verdict \"maybe\"");
    // A control character is refused where it stands, not trimmed off a line's start (found by fuzzing:
    // "\u001fx * x deny" lost its principal and then read as three fields).
    assertThatThrownBy(() -> AclAuthorizer.parse("\u001fx * x deny", "f"))
        .hasMessageContaining("f line 1: control character U+001F at column 1");
    assertThat(AclAuthorizer.parse("\talice\tsend\tbob\tallow  # tabs separate too\r\n", "f").size()).isEqualTo(1);
  }

  @Test
  void globs() {
    assertThat(Glob.of("news.*").matches("news.sport.live")).isTrue();
    assertThat(Glob.of("news.*").matches("news")).isFalse();
    assertThat(Glob.of("*.log").matches("a.log")).isTrue();
    assertThat(Glob.of("a*b*c").matches("abc")).isTrue();
    assertThat(Glob.of("a*b*c").matches("acb")).isFalse();
    assertThat(Glob.of("exact").matches("exactly")).isFalse();
  }
}
