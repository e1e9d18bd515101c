package io.longlink.app;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How a received stream differs from {@code prefix0 .. prefix(n-1)} in that order: what arrived,
 * what never did, what arrived twice, what arrived before an earlier one.
 */
public record StreamAudit(int delivered, int lost, int duplicated, int reordered) {
  public static StreamAudit of(List<String> got, String prefix, int n) {
    Set<String> seen = new HashSet<>();
    int dup = 0;
    int reordered = 0;
    int last = -1;
    for (String p : got) {
      if (!seen.add(p)) {
        dup++;
        continue;
      }
      int i = Integer.parseInt(p.substring(prefix.length()));
      if (i < last) {
        reordered++;
      }
      last = i;
    }
    return new StreamAudit(got.size(), n - seen.size(), dup, reordered);
  }
}
