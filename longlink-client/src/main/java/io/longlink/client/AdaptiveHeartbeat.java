package io.longlink.client;

import io.longlink.client.heartbeat.HeartbeatStore;
import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * How a client learns the longest heartbeat interval its network's NAT allows (docs/OPERATIONS.md,
 * "Adaptive heartbeat"). A client built with one speaks protocol version 2: the gateway's WELCOME
 * bounds the interval, and the client tells the gateway each interval it moves to, so that the
 * gateway's liveness deadline for it follows.
 *
 * <p>While idle the client lengthens its interval by {@link Builder#step} after {@link
 * Builder#beatsToGrow} idle periods survived in a row; an idle period counts as survived when the
 * PING sent at its end is answered. When that PING gets no answer within {@link Builder#pongTimeout},
 * the client takes it as NAT expiry: it reconnects (resuming its session, nothing lost), goes back to
 * the longest interval that survived and holds it for {@link Builder#relearnAfter}. What it learned is
 * kept per network in the {@link Builder#store}. While the application says it is in the foreground
 * ({@link LonglinkClient#foreground}), the client uses the gateway's interval, as a client without
 * this does.
 *
 * <p>Immutable; built by {@link #builder()}, whose setters name a bad value.
 */
public final class AdaptiveHeartbeat {
  public static final double DEFAULT_STEP = 1.15;
  public static final int DEFAULT_BEATS_TO_GROW = 3;
  public static final Duration DEFAULT_RELEARN_AFTER = Duration.ofHours(6);
  public static final Duration DEFAULT_PONG_TIMEOUT = Duration.ofSeconds(10);
  public static final int DEFAULT_MAX_NETWORKS = 64;

  final HeartbeatStore store;
  final Supplier<String> network;
  final double step;
  final int beatsToGrow;
  final Duration relearnAfter;
  final Duration pongTimeout;
  final LongSupplier wallMillis;

  private AdaptiveHeartbeat(Builder b) {
    this.store = b.store != null ? b.store : HeartbeatStore.inMemory(DEFAULT_MAX_NETWORKS);
    this.network = b.network;
    this.step = b.step;
    this.beatsToGrow = b.beatsToGrow;
    this.relearnAfter = b.relearnAfter;
    this.pongTimeout = b.pongTimeout;
    this.wallMillis = b.wallMillis;
  }

  public static Builder builder() {
    return new Builder();
  }

  HeartbeatLearner learner() {
    return new HeartbeatLearner(step, beatsToGrow, relearnAfter.toMillis());
  }

  /** Settings for {@link AdaptiveHeartbeat}; each setter checks its value. */
  public static final class Builder {
    private HeartbeatStore store;
    private Supplier<String> network;
    private double step = DEFAULT_STEP;
    private int beatsToGrow = DEFAULT_BEATS_TO_GROW;
    private Duration relearnAfter = DEFAULT_RELEARN_AFTER;
    private Duration pongTimeout = DEFAULT_PONG_TIMEOUT;
    private LongSupplier wallMillis = System::currentTimeMillis;

    private Builder() {}

    /**
     * Where learned intervals are kept. Default: this process's memory, the 64 most recent
     * networks; {@link HeartbeatStore#file} keeps them across restarts.
     */
    public Builder store(HeartbeatStore store) {
      this.store = Objects.requireNonNull(store, "store");
      return this;
    }

    /**
     * The network the client is on, asked at every login: what the application knows (a Wi-Fi SSID,
     * a carrier name), or {@code null} for the default, the local address and the gateway's endpoint.
     * NATs differ per network, so what is learned on one is not used on another.
     */
    public Builder network(Supplier<String> network) {
      this.network = Objects.requireNonNull(network, "network");
      return this;
    }

    /** How much longer each step is: 1 < step <= 4; default 1.15 (the held interval is then >= 87 % of the NAT's). */
    public Builder step(double step) {
      if (!(step > 1.0 && step <= 4.0)) {
        throw new IllegalArgumentException("step: " + step + " (expected: 1 < step <= 4)");
      }
      this.step = step;
      return this;
    }

    /** Idle periods survived in a row before the next step; default 3. */
    public Builder beatsToGrow(int beatsToGrow) {
      if (beatsToGrow < 1) {
        throw new IllegalArgumentException("beatsToGrow: " + beatsToGrow + " (expected: >= 1)");
      }
      this.beatsToGrow = beatsToGrow;
      return this;
    }

    /** How long an interval is held after a failure (or at the maximum) before longer ones are tried again; default 6 h. */
    public Builder relearnAfter(Duration relearnAfter) {
      if (relearnAfter == null || relearnAfter.isNegative() || relearnAfter.isZero()) {
        throw new IllegalArgumentException("relearnAfter: " + relearnAfter + " (expected: > 0)");
      }
      this.relearnAfter = relearnAfter;
      return this;
    }

    /**
     * How long the PING at the end of an idle period may go unanswered before the connection counts
     * as dead from NAT expiry; default 10 s. Longer than a round trip on the worst network served.
     */
    public Builder pongTimeout(Duration pongTimeout) {
      if (pongTimeout == null || pongTimeout.toMillis() < 10) {
        throw new IllegalArgumentException("pongTimeout: " + pongTimeout + " (expected: >= 10ms)");
      }
      this.pongTimeout = pongTimeout;
      return this;
    }

    /** The wall clock that dates what is learned (it outlives the process); default the system's. For tests. */
    public Builder wallClock(LongSupplier epochMillis) {
      this.wallMillis = Objects.requireNonNull(epochMillis, "epochMillis");
      return this;
    }

    public AdaptiveHeartbeat build() {
      return new AdaptiveHeartbeat(this);
    }
  }
}
