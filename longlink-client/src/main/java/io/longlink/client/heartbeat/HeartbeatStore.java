package io.longlink.client.heartbeat;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where a client keeps what it learned about each network's NAT, so that the next connection on
 * that network (the next process too, with a persistent store) starts from it instead of learning
 * again. Called from the client's I/O thread, rarely (a few times while learning, then about once
 * per relearn period): implementations must be quick and thread-safe (one store may serve several
 * clients), and should bound how many networks they keep.
 */
public interface HeartbeatStore {
  /** What was learned on {@code network}, or {@code null}. */
  LearnedHeartbeat load(String network);

  /** Replaces what is kept for {@code learned.network()}. Must not throw: a store that cannot write keeps what it can. */
  void save(LearnedHeartbeat learned);

  /** In this process's memory only, the {@code maxNetworks} most recently used. */
  static HeartbeatStore inMemory(int maxNetworks) {
    return new MemoryHeartbeatStore(maxNetworks);
  }

  /**
   * In a small text file (one line per network, rewritten atomically on each change), the {@code
   * maxNetworks} most recently used. A missing file is an empty store; unreadable lines are skipped.
   *
   * @throws IOException if the file exists and cannot be read
   */
  static HeartbeatStore file(Path file, int maxNetworks) throws IOException {
    return new FileHeartbeatStore(file, maxNetworks);
  }
}
