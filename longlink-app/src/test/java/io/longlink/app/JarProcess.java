package io.longlink.app;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The runnable jar started as a real process, its stdout and stderr going to files. */
public record JarProcess(Process process, Path out, Path err) {

  /**
   * Starts {@code java -jar longlink.jar args...}, prefixed by {@code wrapper} (e.g. {@code ip netns
   * exec NS}), with extra environment variables.
   */
  public static JarProcess start(Path dir, String name, List<String> wrapper, Map<String, String> env, String... args)
      throws IOException {
    List<String> cmd = new ArrayList<>(wrapper);
    cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-jar", System.getProperty("longlink.jar")));
    cmd.addAll(List.of(args));
    Path out = dir.resolve(name + ".out");
    Path err = dir.resolve(name + ".err");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().putAll(env);
    return new JarProcess(pb.start(), out, err);
  }

  public List<String> outLines() throws IOException {
    return Files.readAllLines(out);
  }

  public String errText() throws IOException {
    return Files.readString(err);
  }

  public boolean errContains(String s) throws IOException {
    return errText().contains(s);
  }
}
