package io.longlink.server;

import io.longlink.protocol.FrameCodec;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable gateway settings, validated when built. Durations are positive unless a method says
 * otherwise; every error message names the bad value and what was expected.
 *
 * @param host address to bind; {@code 0.0.0.0} for all interfaces
 * @param port TCP port; {@code 0} picks a free one (see {@link LonglinkServer#localAddress()})
 * @param ioThreads event-loop threads; {@code 0} means one per core
 * @param transport which Netty transport to use
 * @param heartbeatInterval how often clients must send something (told to them in WELCOME)
 * @param heartbeatMisses silent intervals after which the server closes the connection
 * @param handshakeTimeout time from accept to an accepted HELLO; not extended by partial data
 * @param maxFrameSize largest frame {@code length} accepted after the handshake
 * @param sweepInterval how often the shared liveness sweep checks deadlines; bounds how late a
 *     timeout may fire. Derived from the other timeouts when not set
 * @param backoffInitial first reconnect delay clients are told to use
 * @param backoffMax reconnect delay cap clients are told to use
 */
public record ServerConfig(
    String host,
    int port,
    int ioThreads,
    Transport transport,
    Duration heartbeatInterval,
    int heartbeatMisses,
    Duration handshakeTimeout,
    int maxFrameSize,
    Duration sweepInterval,
    Duration backoffInitial,
    Duration backoffMax) {

  /** Netty transport choice. */
  public enum Transport {
    /** Native epoll when available, else NIO (logged). */
    AUTO,
    EPOLL,
    NIO
  }

  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(30);
  public static final int DEFAULT_HEARTBEAT_MISSES = 3;
  public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);

  public ServerConfig {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(transport, "transport");
    check(port >= 0 && port <= 65535, "port", port, "0..65535");
    check(ioThreads >= 0, "ioThreads", ioThreads, ">= 0");
    checkPositive(heartbeatInterval, "heartbeatInterval");
    check(heartbeatInterval.toMillis() <= Integer.MAX_VALUE, "heartbeatInterval", heartbeatInterval, "< 2^31 ms");
    check(heartbeatMisses >= 1 && heartbeatMisses <= 255, "heartbeatMisses", heartbeatMisses, "1..255");
    checkPositive(handshakeTimeout, "handshakeTimeout");
    check(maxFrameSize >= FrameCodec.HANDSHAKE_MAX_FRAME_SIZE, "maxFrameSize", maxFrameSize,
        ">= " + FrameCodec.HANDSHAKE_MAX_FRAME_SIZE);
    checkPositive(sweepInterval, "sweepInterval");
    checkPositive(backoffInitial, "backoffInitial");
    check(backoffMax.compareTo(backoffInitial) >= 0, "backoffMax", backoffMax, ">= backoffInitial " + backoffInitial);
    check(backoffMax.toMillis() <= Integer.MAX_VALUE, "backoffMax", backoffMax, "< 2^31 ms");
  }

  /** How long a connection may stay silent: interval × misses. */
  public Duration deadPeerTimeout() {
    return heartbeatInterval.multipliedBy(heartbeatMisses);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from this config's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.host = host;
    b.port = port;
    b.ioThreads = ioThreads;
    b.transport = transport;
    b.heartbeatInterval = heartbeatInterval;
    b.heartbeatMisses = heartbeatMisses;
    b.handshakeTimeout = handshakeTimeout;
    b.maxFrameSize = maxFrameSize;
    b.sweepInterval = sweepInterval;
    b.backoffInitial = backoffInitial;
    b.backoffMax = backoffMax;
    return b;
  }

  private static void check(boolean ok, String name, Object value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: " + expected + ")");
    }
  }

  private static void checkPositive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    check(!d.isNegative() && !d.isZero(), name, d, "> 0");
  }

  /** Builds a {@link ServerConfig}; unset values take the documented defaults. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port = 7000;
    private int ioThreads = 0;
    private Transport transport = Transport.AUTO;
    private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
    private int heartbeatMisses = DEFAULT_HEARTBEAT_MISSES;
    private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
    private int maxFrameSize = FrameCodec.DEFAULT_MAX_FRAME_SIZE;
    private Duration sweepInterval;
    private Duration backoffInitial = Duration.ofSeconds(1);
    private Duration backoffMax = Duration.ofSeconds(60);

    private Builder() {}

    /** Default {@code 127.0.0.1}. */
    public Builder host(String host) {
      this.host = host;
      return this;
    }

    /** Default 7000; 0 picks a free port. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** Default 0: one event loop per core. */
    public Builder ioThreads(int ioThreads) {
      this.ioThreads = ioThreads;
      return this;
    }

    /** Default {@link Transport#AUTO}. */
    public Builder transport(Transport transport) {
      this.transport = transport;
      return this;
    }

    /** Default 30 s. */
    public Builder heartbeatInterval(Duration heartbeatInterval) {
      this.heartbeatInterval = heartbeatInterval;
      return this;
    }

    /** Default 3. */
    public Builder heartbeatMisses(int heartbeatMisses) {
      this.heartbeatMisses = heartbeatMisses;
      return this;
    }

    /** Default 5 s. */
    public Builder handshakeTimeout(Duration handshakeTimeout) {
      this.handshakeTimeout = handshakeTimeout;
      return this;
    }

    /** Default 1 MiB. */
    public Builder maxFrameSize(int maxFrameSize) {
      this.maxFrameSize = maxFrameSize;
      return this;
    }

    /**
     * Default: a quarter of the shorter of the handshake timeout and the heartbeat interval, at
     * most 1 s and at least 10 ms.
     */
    public Builder sweepInterval(Duration sweepInterval) {
      this.sweepInterval = sweepInterval;
      return this;
    }

    /** Default 1 s. */
    public Builder backoffInitial(Duration backoffInitial) {
      this.backoffInitial = backoffInitial;
      return this;
    }

    /** Default 60 s. */
    public Builder backoffMax(Duration backoffMax) {
      this.backoffMax = backoffMax;
      return this;
    }

    public ServerConfig build() {
      Duration sweep = sweepInterval;
      if (sweep == null && heartbeatInterval != null && handshakeTimeout != null) {
        Duration shorter = heartbeatInterval.compareTo(handshakeTimeout) < 0 ? heartbeatInterval : handshakeTimeout;
        sweep = shorter.dividedBy(4);
        if (sweep.compareTo(Duration.ofSeconds(1)) > 0) {
          sweep = Duration.ofSeconds(1);
        }
        if (sweep.compareTo(Duration.ofMillis(10)) < 0) {
          sweep = Duration.ofMillis(10);
        }
      }
      return new ServerConfig(host, port, ioThreads, transport, heartbeatInterval, heartbeatMisses,
          handshakeTimeout, maxFrameSize, sweep, backoffInitial, backoffMax);
    }
  }
}
