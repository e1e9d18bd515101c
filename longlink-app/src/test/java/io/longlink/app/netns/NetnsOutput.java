package io.longlink.app.netns;

import io.longlink.app.JarProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the namespace tests read from and write to the jar's {@code longlink client} processes. */
final class NetnsOutput {
  static final Pattern PAYLOAD = Pattern.compile("\"payload\":\"([^\"]*)\"");

  private NetnsOutput() {}

  /** The payloads a {@code --json} client printed, in order. */
  static List<String> payloads(JarProcess p) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : p.outLines()) {
      Matcher m = PAYLOAD.matcher(line);
      if (m.find()) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  /** How often {@code text} occurs in the process's stderr. */
  static int count(JarProcess p, String text) throws IOException {
    String all = p.errText();
    int c = 0;
    for (int i = all.indexOf(text); i >= 0; i = all.indexOf(text, i + 1)) {
      c++;
    }
    return c;
  }

  /** {@code prefix}{b}-{i} for each batch b and i below n, in order. */
  static List<String> batches(String prefix, int batches, int n) {
    List<String> out = new ArrayList<>();
    for (int b = 0; b < batches; b++) {
      for (int i = 0; i < n; i++) {
        out.add(prefix + b + "-" + i);
      }
    }
    return out;
  }

  /** Types batch {@code b} of {@code prefix}{b}-{i} lines into an interactive client, which sends each. */
  static void typeBatch(JarProcess client, String prefix, int b, int n) throws IOException {
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < n; i++) {
      lines.append(prefix).append(b).append('-').append(i).append('\n');
    }
    client.process().getOutputStream().write(lines.toString().getBytes(StandardCharsets.UTF_8));
    client.process().getOutputStream().flush();
  }
}
