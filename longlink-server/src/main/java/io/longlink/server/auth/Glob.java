package io.longlink.server.auth;

import java.util.Objects;

/**
 * A name pattern of the ACL file and of token claims: {@code *} matches any run of characters
 * (including none, and dots), everything else matches itself. {@code news.*} matches {@code
 * news.sport} and {@code news.sport.live}; {@code *} matches everything. Immutable.
 */
public final class Glob {
  private final String pattern;
  private final String[] parts;

  private Glob(String pattern) {
    this.pattern = pattern;
    this.parts = pattern.split("\\*", -1);
  }

  public static Glob of(String pattern) {
    Objects.requireNonNull(pattern, "pattern");
    if (pattern.isEmpty()) {
      throw new IllegalArgumentException("pattern: empty (expected: a name, or * for any)");
    }
    return new Glob(pattern);
  }

  public boolean matches(String name) {
    if (parts.length == 1) {
      return pattern.equals(name);
    }
    if (!name.startsWith(parts[0])) {
      return false;
    }
    int at = parts[0].length();
    for (int i = 1; i < parts.length - 1; i++) {
      int found = name.indexOf(parts[i], at);
      if (found < 0) {
        return false;
      }
      at = found + parts[i].length();
    }
    String last = parts[parts.length - 1];
    return name.length() - at >= last.length() && name.endsWith(last);
  }

  @Override
  public String toString() {
    return pattern;
  }
}
