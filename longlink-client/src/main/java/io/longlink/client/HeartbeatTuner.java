package io.longlink.client;

import io.longlink.client.heartbeat.LearnedHeartbeat;
import io.longlink.protocol.Frame;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's adaptive heartbeat between its connection and the {@link HeartbeatLearner}: which
 * network it is on, the gateway's bounds, the foreground flag, the store, the events. Confined to the
 * client's event loop. Each method answers the interval to use from now on in milliseconds, or -1
 * when it stays.
 */
final class HeartbeatTuner {
  private static final Logger log = LoggerFactory.getLogger(HeartbeatTuner.class);

  private final AdaptiveHeartbeat settings;
  private final HeartbeatLearner learner;
  private final ClientListener listener;
  private final String clientId;
  private LearnedHeartbeat state;
  private int beats;
  private long minMs;
  private long startMs;
  private long maxMs;
  private boolean foreground;
  /** The interval in use ({@code startMs} in the foreground), 0 before the first login. */
  private volatile long currentMs;
  private volatile long natExpiries;

  HeartbeatTuner(AdaptiveHeartbeat settings, ClientListener listener, String clientId) {
    this.settings = settings;
    this.learner = settings.learner();
    this.listener = listener;
    this.clientId = clientId;
  }

  /** The interval for a new connection, from what was learned on its network within the WELCOME's bounds. */
  long onWelcome(Frame.Welcome w, String defaultNetwork) {
    minMs = w.heartbeatMinMs();
    startMs = w.heartbeatIntervalMs();
    maxMs = w.heartbeatMaxMs();
    String network = null;
    try {
      network = settings.network == null ? null : settings.network.get();
    } catch (RuntimeException e) {
      log.warn("client {}: the network supplier failed; using the default network id", clientId, e);
    }
    if (network == null || network.isBlank()) {
      network = defaultNetwork;
    }
    network = network.replaceAll("\\p{Cntrl}", " ");
    long now = settings.wallMillis.getAsLong();
    if (state == null || !state.network().equals(network)) {
      save(); // what the last network taught, before leaving it
      state = settings.store.load(network);
    }
    HeartbeatLearner.Step s = learner.start(network, state, minMs, startMs, maxMs, now);
    state = s.state();
    save();
    beats = 0;
    long previous = currentMs;
    currentMs = inUse();
    emit(previous, HeartbeatChange.Cause.RESTORED);
    return currentMs;
  }

  /** Whether idle PINGs should test the NAT now. */
  boolean learning() {
    return !foreground && state != null && maxMs > minMs;
  }

  /** The probe at the end of an idle interval was answered. */
  long survived() {
    if (!learning()) {
      return -1;
    }
    HeartbeatLearner.Step s = learner.survived(state, beats, maxMs, settings.wallMillis.getAsLong());
    return apply(s);
  }

  /** The probe went unanswered: the connection is being closed as dead from NAT expiry. */
  long expired() {
    if (!learning()) {
      return -1;
    }
    natExpiries++;
    HeartbeatLearner.Step s = learner.expired(state, minMs, settings.wallMillis.getAsLong());
    return apply(s);
  }

  /** The application moved to or from the foreground. */
  long foreground(boolean on) {
    if (foreground == on) {
      return -1;
    }
    foreground = on;
    if (state == null) {
      return -1;
    }
    long previous = currentMs;
    currentMs = inUse();
    emit(previous, on ? HeartbeatChange.Cause.FOREGROUND : HeartbeatChange.Cause.BACKGROUND);
    return currentMs == previous ? -1 : currentMs;
  }

  long currentMs() {
    return currentMs;
  }

  long natExpiries() {
    return natExpiries;
  }

  private long inUse() {
    return foreground ? startMs : state.intervalMs();
  }

  private long apply(HeartbeatLearner.Step s) {
    boolean changed = !s.state().equals(state);
    state = s.state();
    beats = s.beats();
    if (changed) {
      save();
    }
    if (s.change() == HeartbeatLearner.Change.NONE) {
      return -1;
    }
    long previous = currentMs;
    currentMs = inUse();
    emit(previous, switch (s.change()) {
      case GREW -> HeartbeatChange.Cause.GREW;
      case HELD -> HeartbeatChange.Cause.HELD;
      case STEPPED_BACK, HALVED -> HeartbeatChange.Cause.NAT_EXPIRY;
      case RELEARNING -> HeartbeatChange.Cause.RELEARNING;
      case NONE -> throw new AssertionError("handled above");
    });
    return currentMs == previous ? -1 : currentMs;
  }

  private void save() {
    if (state != null) {
      settings.store.save(state);
    }
  }

  private void emit(long previousMs, HeartbeatChange.Cause cause) {
    HeartbeatChange c = new HeartbeatChange(state.network(), Duration.ofMillis(previousMs), Duration.ofMillis(currentMs),
        cause, state.holding());
    log.debug("client {}: heartbeat {}", clientId, c);
    try {
      listener.onHeartbeatChanged(c);
    } catch (RuntimeException e) {
      log.warn("client {}: the listener failed on a heartbeat change", clientId, e);
    }
  }
}
