package io.longlink.client.heartbeat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link HeartbeatStore#file}: one tab-separated line per network, {@code network intervalMs provenMs
 * failedMs holding sinceEpochMs}, least recently used first; written to a temporary file and moved
 * over the old one, so a crash leaves the old or the new file, never half of one.
 */
final class FileHeartbeatStore extends MemoryHeartbeatStore {
  private static final Logger log = LoggerFactory.getLogger(FileHeartbeatStore.class);
  private final Path file;

  FileHeartbeatStore(Path file, int maxNetworks) throws IOException {
    super(maxNetworks);
    this.file = file.toAbsolutePath();
    List<String> lines;
    try {
      lines = Files.readAllLines(this.file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return;
    }
    for (String line : lines) {
      LearnedHeartbeat h = parse(line);
      if (h != null) {
        super.save(h);
      } else if (!line.isBlank()) {
        log.warn("heartbeat store {}: skipped an unreadable line: {}", this.file, line);
      }
    }
  }

  static LearnedHeartbeat parse(String line) {
    String[] f = line.split("\t");
    if (f.length != 6 || f[0].isEmpty() || !(f[4].equals("true") || f[4].equals("false"))) {
      return null;
    }
    try {
      return new LearnedHeartbeat(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]),
          Boolean.parseBoolean(f[4]), Long.parseLong(f[5]));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  static String format(LearnedHeartbeat h) {
    return h.network().replace('\t', ' ').replace('\n', ' ') + "\t" + h.intervalMs() + "\t" + h.provenMs() + "\t"
        + h.failedMs() + "\t" + h.holding() + "\t" + h.sinceEpochMs();
  }

  @Override
  public synchronized void save(LearnedHeartbeat learned) {
    super.save(learned);
    StringBuilder out = new StringBuilder();
    for (LearnedHeartbeat h : all()) {
      out.append(format(h)).append('\n');
    }
    try {
      Path dir = file.getParent();
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
      Files.writeString(tmp, out, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      log.warn("heartbeat store {}: could not write (kept in memory): {}", file, e.toString());
    }
  }
}
