package io.longlink.server.auth;

import io.longlink.server.Authorizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;

/**
 * Authorization from a rules file (README, "Running on the internet"): one rule per line, {@code PRINCIPAL ACTION
 * TARGET allow|deny}, where PRINCIPAL and TARGET are {@link Glob} patterns, TARGET may contain
 * {@code {principal}} (replaced by the principal asking), and ACTION is {@code send}, {@code
 * publish}, {@code subscribe}, {@code request}, a comma-separated list of them, or {@code *}. The
 * first rule that matches decides; when none does, the answer is deny. {@code #} starts a comment.
 * What a token's claims allow applies as well: both must allow. Immutable, thread-safe.
 */
public final class AclAuthorizer implements Authorizer {
  /** One line of the file. */
  record Rule(Glob principal, EnumSet<Action> actions, String target, boolean allow, int line) {
    boolean appliesTo(String p, Action a) {
      return actions.contains(a) && principal.matches(p);
    }
  }

  private final List<Rule> rules;

  private AclAuthorizer(List<Rule> rules) {
    this.rules = List.copyOf(rules);
  }

  public static AclAuthorizer fromFile(Path file) {
    try {
      AclAuthorizer acl = parse(Files.readString(file), file.toString());
      org.slf4j.LoggerFactory.getLogger(AclAuthorizer.class).info("authorization: {} rules from {}", acl.size(), file);
      return acl;
    } catch (IOException e) {
      throw new IllegalArgumentException("acl: cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * @param source names the text in error messages
   * @throws IllegalArgumentException a line is malformed; the message names the line and what was expected
   */
  public static AclAuthorizer parse(String text, String source) {
    List<Rule> rules = new ArrayList<>();
    String[] lines = text.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      int hash = line.indexOf('#');
      String where = source + " line " + (i + 1) + ": ";
      String rule = hash >= 0 ? line.substring(0, hash) : line;
      // Names never hold control characters; refusing them keeps one rule for what separates fields.
      for (int c = 0; c < rule.length(); c++) {
        char ch = rule.charAt(c);
        if (ch < 0x20 && ch != '\t' || ch == 0x7f) {
          throw new IllegalArgumentException(where + String.format("control character U+%04X at column %d", (int) ch,
              c + 1) + " (expected: names separated by spaces or tabs)");
        }
      }
      String content = rule.trim(); // only spaces and tabs are left to trim
      if (content.isEmpty()) {
        continue;
      }
      String[] f = content.split("[ \t]+");
      if (f.length != 4) {
        throw new IllegalArgumentException(where + "\"" + content + "\" has " + f.length
            + " fields (expected: PRINCIPAL ACTION TARGET allow|deny)");
      }
      EnumSet<Action> actions = EnumSet.noneOf(Action.class);
      for (String a : f[1].split(",")) {
        if (a.equals("*")) {
          actions.addAll(EnumSet.allOf(Action.class));
          continue;
        }
        try {
          actions.add(Action.valueOf(a.toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(where + "action \"" + a + "\" (expected: send, publish, subscribe, "
              + "request, a comma-separated list of them, or *)");
        }
      }
      String verdict = f[3].toLowerCase(Locale.ROOT);
      if (!verdict.equals("allow") && !verdict.equals("deny")) {
        throw new IllegalArgumentException(where + "verdict \"" + f[3] + "\" (expected: allow or deny)");
      }
      Glob.of(f[2].replace("{principal}", "x")); // checks the pattern
      rules.add(new Rule(Glob.of(f[0]), actions, f[2], verdict.equals("allow"), i + 1));
    }
    return new AclAuthorizer(rules);
  }

  public int size() {
    return rules.size();
  }

  @Override
  public Permissions permissions(String principal, String clientId, Permissions granted) {
    // The rules that can apply to this principal, with its name in place: per message only these are scanned.
    List<Rule> mine = new ArrayList<>();
    List<Glob> targets = new ArrayList<>();
    for (Rule r : rules) {
      if (r.principal().matches(principal)) {
        mine.add(r);
        targets.add(Glob.of(r.target().replace("{principal}", principal)));
      }
    }
    Permissions byRules = (action, target) -> {
      for (int i = 0; i < mine.size(); i++) {
        Rule r = mine.get(i);
        if (r.actions().contains(action) && targets.get(i).matches(target)) {
          return r.allow();
        }
      }
      return false;
    };
    return granted == null ? byRules : byRules.and(granted);
  }
}
