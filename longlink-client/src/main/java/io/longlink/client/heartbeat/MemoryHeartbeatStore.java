package io.longlink.client.heartbeat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@link HeartbeatStore#inMemory}: the most recently used networks, in access order. Thread-safe. */
class MemoryHeartbeatStore implements HeartbeatStore {
  private final int maxNetworks;
  private final LinkedHashMap<String, LearnedHeartbeat> byNetwork;

  MemoryHeartbeatStore(int maxNetworks) {
    if (maxNetworks < 1) {
      throw new IllegalArgumentException("maxNetworks: " + maxNetworks + " (expected: >= 1)");
    }
    this.maxNetworks = maxNetworks;
    this.byNetwork = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, LearnedHeartbeat> eldest) {
        return size() > MemoryHeartbeatStore.this.maxNetworks;
      }
    };
  }

  @Override
  public synchronized LearnedHeartbeat load(String network) {
    return byNetwork.get(network);
  }

  @Override
  public synchronized void save(LearnedHeartbeat learned) {
    byNetwork.put(learned.network(), learned);
  }

  /** Everything kept, least recently used first. */
  synchronized List<LearnedHeartbeat> all() {
    return new ArrayList<>(byNetwork.values());
  }
}
