package io.longlink.server;

import static io.longlink.server.ConfigChecks.check;

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
 * @param ioThreadSlice the CPU time slice each event-loop thread asks the Linux scheduler for
 *     (Linux 6.12+; see {@link SchedulerSlice}): a loop woken by a packet then preempts threads that
 *     run whole default slices instead of waiting for them; zero keeps the kernel's default
 * @param transport which Netty transport to use
 * @param heartbeatInterval how often clients must send something (told to them in WELCOME)
 * @param heartbeatMisses silent intervals after which the server closes the connection
 * @param heartbeatMin the shortest interval a client that adapts its heartbeat may announce (version 2
 *     HEARTBEAT frame); at most {@code heartbeatInterval}
 * @param heartbeatMax the longest such interval, at least {@code heartbeatInterval}; the server then
 *     expects that client's traffic within its interval × {@code heartbeatMisses}
 * @param handshakeTimeout time from accept to an accepted HELLO; not extended by partial data
 * @param maxFrameSize largest frame {@code length} accepted after the handshake
 * @param sweepInterval how often the shared liveness sweep checks deadlines; bounds how late a
 *     timeout may fire. Derived from the other timeouts when not set
 * @param backoffInitial first reconnect delay clients are told to use
 * @param backoffMax reconnect delay cap clients are told to use
 * @param sessionRetention how long a session whose connection dropped is kept for resume, with
 *     its buffered messages; zero keeps none
 * @param replayBufferMessages most unacknowledged messages buffered per session
 * @param replayBufferBytes most bytes of unacknowledged messages buffered per session (payload,
 *     names and {@value #MESSAGE_OVERHEAD_BYTES} B per message)
 * @param slowConsumerPolicy what happens when a message for a session does not fit in its replay
 *     buffer (the client reads slower than it is sent to, or stays away too long)
 * @param maxDetachedSessions most detached sessions kept; past it the oldest-detached go first
 * @param maxDetachedBytes most bytes buffered by detached sessions (as at their detach)
 * @param ackBatchMessages the server acknowledges at the latest after this many client frames
 * @param ackDelay zero: acknowledge at the end of each batch read from the socket; else at most
 *     this long after the first unacknowledged frame
 * @param writeCoalescing while an event loop writes to many connections at once (a topic fanned
 *     out to thousands of subscribers), their writes are gathered into one pass this often: fewer,
 *     larger writes for at most this much more latency; zero writes at once always. A loop writing
 *     to few connections never waits. See {@link WriteCoalescer}.
 * @param maxRequestsInFlight most requests of one connection being processed at once; past it a
 *     request is answered LIMIT_EXCEEDED
 * @param tcp socket settings of client connections (keepalive, user timeout, buffers, backlog,
 *     watermarks); see {@link TcpOptions} for the defaults and why
 * @param limits bounds against bad or hostile clients; see {@link Limits}
 * @param tokenRefreshAhead how long before a connection's credential expires the server asks for a
 *     fresh one (REAUTH); half the credential's lifetime when that is shorter
 * @param webSocket the WebSocket listener beside the TCP port (off by default); see {@link WebSocketOptions}
 * @param altPorts more TCP ports on the same host serving exactly what {@code port} serves, for
 *     networks that block unusual ports (443, 80); empty by default
 * @param devices users with several devices: the per-user session limit and presence; see {@link DeviceOptions}
 */
public record ServerConfig(
    String host,
    int port,
    int ioThreads,
    Duration ioThreadSlice,
    Transport transport,
    Duration heartbeatInterval,
    int heartbeatMisses,
    Duration heartbeatMin,
    Duration heartbeatMax,
    Duration handshakeTimeout,
    int maxFrameSize,
    Duration sweepInterval,
    Duration backoffInitial,
    Duration backoffMax,
    Duration sessionRetention,
    int replayBufferMessages,
    long replayBufferBytes,
    SlowConsumerPolicy slowConsumerPolicy,
    int maxDetachedSessions,
    long maxDetachedBytes,
    int ackBatchMessages,
    Duration ackDelay,
    Duration writeCoalescing,
    int maxRequestsInFlight,
    TcpOptions tcp,
    Limits limits,
    Duration tokenRefreshAhead,
    WebSocketOptions webSocket,
    java.util.List<Integer> altPorts,
    DeviceOptions devices) {
  /**
   * What a buffered message counts against a replay buffer's byte bound on top of its payload and
   * names ({@link #replayBufferBytes}): the largest frame plus this must fit.
   */
  public static final int MESSAGE_OVERHEAD_BYTES = 64;


  /** Netty transport choice. */
  public enum Transport {
    /** Native epoll when available, else NIO (logged). */
    AUTO,
    EPOLL,
    /**
     * Native io_uring: reads and writes of many connections go to the kernel in one system call, which
     * pays where system calls are dear (virtual machines) and many connections are busy at once.
     */
    IO_URING,
    NIO,
    /**
     * No sockets: Netty's in-JVM local channels, bound to the name {@code host:port}. For embedding
     * the gateway with its clients in one process and for the million-session benchmark.
     */
    IN_MEMORY
  }

  /** What a full replay buffer does to its session (docs/PROTOCOL.md 5.5). */
  public enum SlowConsumerPolicy {
    /**
     * Close the connection with ERROR SLOW_CONSUMER; what no longer fits is lost and the next resume
     * answers LOST with the count. For clients that must see every message or know they did not.
     */
    DISCONNECT,
    /**
     * Keep the connection and drop the oldest buffered messages to make room; the client is told
     * with a GAP frame (while connected, or first thing after its resume) and keeps its session. For
     * feeds where the latest data matters more than completeness (prices, positions, live comments).
     */
    DROP_OLDEST
  }

  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(30);
  public static final int DEFAULT_HEARTBEAT_MISSES = 3;
  /** Default lower bound for adapting clients (or the interval, when that is shorter). */
  public static final Duration DEFAULT_HEARTBEAT_MIN = Duration.ofSeconds(10);
  /** Default upper bound for adapting clients (or the interval, when that is longer): 5 min, under most carriers' NAT timeouts. */
  public static final Duration DEFAULT_HEARTBEAT_MAX = Duration.ofMinutes(5);
  /**
   * A connection keeps its client's announced interval in a 16-bit field of tenths of a second: the
   * bounds stay within 100 ms..6553 s.
   */
  public static final Duration HEARTBEAT_BOUND_FLOOR = Duration.ofMillis(100);
  public static final Duration HEARTBEAT_BOUND_CEILING = Duration.ofMillis(65_535 * 100L);
  public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);
  /** The shortest the kernel takes: an event loop's bursts are shorter still. */
  public static final Duration DEFAULT_IO_THREAD_SLICE = SchedulerSlice.MIN;

  public ServerConfig {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(transport, "transport");
    check(port >= 0 && port <= 65535, "port", port, "0..65535");
    check(ioThreads >= 0, "ioThreads", ioThreads, ">= 0");
    Objects.requireNonNull(ioThreadSlice, "ioThreadSlice");
    check(SchedulerSlice.allowed(ioThreadSlice), "ioThreadSlice", ioThreadSlice, "0 or 100us..100ms");
    checkPositive(heartbeatInterval, "heartbeatInterval");
    check(heartbeatInterval.toMillis() <= Integer.MAX_VALUE, "heartbeatInterval", heartbeatInterval, "< 2^31 ms");
    check(heartbeatMisses >= 1 && heartbeatMisses <= 255, "heartbeatMisses", heartbeatMisses, "1..255");
    Objects.requireNonNull(heartbeatMin, "heartbeatMin");
    Objects.requireNonNull(heartbeatMax, "heartbeatMax");
    check((heartbeatMin.compareTo(HEARTBEAT_BOUND_FLOOR) >= 0 || heartbeatMin.equals(heartbeatInterval))
        && heartbeatMin.compareTo(heartbeatInterval) <= 0, "heartbeatMin", heartbeatMin,
        "100ms..heartbeatInterval " + heartbeatInterval);
    check(heartbeatMax.compareTo(heartbeatInterval) >= 0 && heartbeatMax.compareTo(HEARTBEAT_BOUND_CEILING) <= 0,
        "heartbeatMax", heartbeatMax, "heartbeatInterval " + heartbeatInterval + ".." + HEARTBEAT_BOUND_CEILING);
    checkPositive(handshakeTimeout, "handshakeTimeout");
    check(maxFrameSize >= FrameCodec.HANDSHAKE_MAX_FRAME_SIZE, "maxFrameSize", maxFrameSize,
        ">= " + FrameCodec.HANDSHAKE_MAX_FRAME_SIZE);
    checkPositive(sweepInterval, "sweepInterval");
    checkPositive(backoffInitial, "backoffInitial");
    check(backoffMax.compareTo(backoffInitial) >= 0, "backoffMax", backoffMax, ">= backoffInitial " + backoffInitial);
    check(backoffMax.toMillis() <= Integer.MAX_VALUE, "backoffMax", backoffMax, "< 2^31 ms");
    Objects.requireNonNull(sessionRetention, "sessionRetention");
    check(!sessionRetention.isNegative() && sessionRetention.toMillis() <= Integer.MAX_VALUE, "sessionRetention",
        sessionRetention, ">= 0 and < 2^31 ms");
    check(replayBufferMessages >= 1, "replayBufferMessages", replayBufferMessages, ">= 1");
    check(replayBufferBytes >= maxFrameSize + MESSAGE_OVERHEAD_BYTES, "replayBufferBytes", replayBufferBytes,
        ">= maxFrameSize + " + MESSAGE_OVERHEAD_BYTES + ", so the largest message fits");
    Objects.requireNonNull(slowConsumerPolicy, "slowConsumerPolicy");
    check(maxDetachedSessions >= 0, "maxDetachedSessions", maxDetachedSessions, ">= 0");
    check(maxDetachedBytes >= 0, "maxDetachedBytes", maxDetachedBytes, ">= 0");
    check(ackBatchMessages >= 1 && ackBatchMessages <= Short.MAX_VALUE, "ackBatchMessages", ackBatchMessages,
        "1..32767");
    Objects.requireNonNull(ackDelay, "ackDelay");
    check(!ackDelay.isNegative(), "ackDelay", ackDelay, ">= 0");
    Objects.requireNonNull(writeCoalescing, "writeCoalescing");
    check(!writeCoalescing.isNegative() && writeCoalescing.compareTo(Duration.ofSeconds(1)) <= 0, "writeCoalescing",
        writeCoalescing, "0..1s");
    check(maxRequestsInFlight >= 1, "maxRequestsInFlight", maxRequestsInFlight, ">= 1");
    Objects.requireNonNull(tcp, "tcp");
    Objects.requireNonNull(limits, "limits");
    checkPositive(tokenRefreshAhead, "tokenRefreshAhead");
    Objects.requireNonNull(webSocket, "webSocket");
    check(!webSocket.enabled() || webSocket.port() == 0 || webSocket.port() != port, "webSocket.port", webSocket.port(),
        "a port other than the TCP port " + port);
    altPorts = java.util.List.copyOf(Objects.requireNonNull(altPorts, "altPorts"));
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (int alt : altPorts) {
      check(alt >= 0 && alt <= 65535, "altPorts", alt, "0..65535");
      check(alt == 0 || (alt != port && !(webSocket.enabled() && alt == webSocket.port()) && seen.add(alt)), "altPorts",
          alt, "a port other than the TCP port, the WebSocket port and the other alternative ports");
    }
    Objects.requireNonNull(devices, "devices");
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
    b.ioThreadSlice = ioThreadSlice;
    b.transport = transport;
    b.heartbeatInterval = heartbeatInterval;
    b.heartbeatMisses = heartbeatMisses;
    b.heartbeatMin = heartbeatMin;
    b.heartbeatMax = heartbeatMax;
    b.handshakeTimeout = handshakeTimeout;
    b.maxFrameSize = maxFrameSize;
    b.sweepInterval = sweepInterval;
    b.backoffInitial = backoffInitial;
    b.backoffMax = backoffMax;
    b.sessionRetention = sessionRetention;
    b.replayBufferMessages = replayBufferMessages;
    b.replayBufferBytes = replayBufferBytes;
    b.slowConsumerPolicy = slowConsumerPolicy;
    b.maxDetachedSessions = maxDetachedSessions;
    b.maxDetachedBytes = maxDetachedBytes;
    b.ackBatchMessages = ackBatchMessages;
    b.ackDelay = ackDelay;
    b.writeCoalescing = writeCoalescing;
    b.maxRequestsInFlight = maxRequestsInFlight;
    b.tcp = tcp;
    b.limits = limits;
    b.tokenRefreshAhead = tokenRefreshAhead;
    b.webSocket = webSocket;
    b.altPorts = altPorts;
    b.devices = devices;
    return b;
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
    private Duration ioThreadSlice = DEFAULT_IO_THREAD_SLICE;
    private Transport transport = Transport.AUTO;
    private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
    private int heartbeatMisses = DEFAULT_HEARTBEAT_MISSES;
    private Duration heartbeatMin;
    private Duration heartbeatMax;
    private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
    private int maxFrameSize = FrameCodec.DEFAULT_MAX_FRAME_SIZE;
    private Duration sweepInterval;
    private Duration backoffInitial = Duration.ofSeconds(1);
    private Duration backoffMax = Duration.ofSeconds(60);
    private Duration sessionRetention = Duration.ofSeconds(120);
    private int replayBufferMessages = 65_536;
    private long replayBufferBytes = 4L << 20;
    private SlowConsumerPolicy slowConsumerPolicy = SlowConsumerPolicy.DISCONNECT;
    private int maxDetachedSessions = 1_000_000;
    private long maxDetachedBytes = 1L << 30;
    private int ackBatchMessages = 64;
    private Duration ackDelay = Duration.ZERO;
    private Duration writeCoalescing = Duration.ofMillis(10);
    private int maxRequestsInFlight = 1_000;
    private TcpOptions tcp = TcpOptions.builder().build();
    private Limits limits = Limits.defaults();
    private Duration tokenRefreshAhead = Duration.ofSeconds(60);
    private WebSocketOptions webSocket = WebSocketOptions.off();
    private java.util.List<Integer> altPorts = java.util.List.of();
    private DeviceOptions devices = DeviceOptions.defaults();

    private Builder() {}

    /** Default 60 s. */
    public Builder tokenRefreshAhead(Duration tokenRefreshAhead) {
      this.tokenRefreshAhead = tokenRefreshAhead;
      return this;
    }

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

    /**
     * Default {@link #DEFAULT_IO_THREAD_SLICE} (100 us); zero keeps the kernel's default slice. Linux
     * 6.12+; elsewhere it changes nothing (logged at start).
     */
    public Builder ioThreadSlice(Duration ioThreadSlice) {
      this.ioThreadSlice = ioThreadSlice;
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

    /** Default: {@link #DEFAULT_HEARTBEAT_MIN}, or the heartbeat interval when that is shorter. */
    public Builder heartbeatMin(Duration heartbeatMin) {
      this.heartbeatMin = heartbeatMin;
      return this;
    }

    /** Default: {@link #DEFAULT_HEARTBEAT_MAX}, or the heartbeat interval when that is longer. */
    public Builder heartbeatMax(Duration heartbeatMax) {
      this.heartbeatMax = heartbeatMax;
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

    /** Default 120 s; zero keeps no session after its connection drops. */
    public Builder sessionRetention(Duration sessionRetention) {
      this.sessionRetention = sessionRetention;
      return this;
    }

    /** Default 65,536 messages per session (the byte bound usually bites first). */
    public Builder replayBufferMessages(int replayBufferMessages) {
      this.replayBufferMessages = replayBufferMessages;
      return this;
    }

    /** Default 4 MiB per session. */
    public Builder replayBufferBytes(long replayBufferBytes) {
      this.replayBufferBytes = replayBufferBytes;
      return this;
    }

    /** Default {@link SlowConsumerPolicy#DISCONNECT}. */
    public Builder slowConsumerPolicy(SlowConsumerPolicy slowConsumerPolicy) {
      this.slowConsumerPolicy = slowConsumerPolicy;
      return this;
    }

    /** Default 1,000,000. */
    public Builder maxDetachedSessions(int maxDetachedSessions) {
      this.maxDetachedSessions = maxDetachedSessions;
      return this;
    }

    /** Default 1 GiB. */
    public Builder maxDetachedBytes(long maxDetachedBytes) {
      this.maxDetachedBytes = maxDetachedBytes;
      return this;
    }

    /** Default 64. */
    public Builder ackBatchMessages(int ackBatchMessages) {
      this.ackBatchMessages = ackBatchMessages;
      return this;
    }

    /** Default zero: one ACK per socket read batch. */
    public Builder ackDelay(Duration ackDelay) {
      this.ackDelay = ackDelay;
      return this;
    }

    /** Default 10 ms; zero turns gathering off. */
    public Builder writeCoalescing(Duration writeCoalescing) {
      this.writeCoalescing = writeCoalescing;
      return this;
    }

    /** Default 1,000 per connection. */
    public Builder maxRequestsInFlight(int maxRequestsInFlight) {
      this.maxRequestsInFlight = maxRequestsInFlight;
      return this;
    }

    /** Default: {@code TcpOptions.builder().build()}. */
    public Builder tcp(TcpOptions tcp) {
      this.tcp = tcp;
      return this;
    }

    /** More TCP ports serving the same as the main one (0: any free port); default none. */
    public Builder altPorts(java.util.List<Integer> altPorts) {
      this.altPorts = altPorts;
      return this;
    }

    /** Default: {@link WebSocketOptions#off()}. */
    /** Per-user session limit and presence (devices, protocol version 3); default {@link DeviceOptions#defaults()}. */
    public Builder devices(DeviceOptions devices) {
      this.devices = devices;
      return this;
    }

    public Builder webSocket(WebSocketOptions webSocket) {
      this.webSocket = webSocket;
      return this;
    }

    /** Default: {@link Limits#defaults()}. */
    public Builder limits(Limits limits) {
      this.limits = limits;
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
      Duration min = heartbeatMin;
      Duration max = heartbeatMax;
      if (heartbeatInterval != null) {
        if (min == null) {
          min = heartbeatInterval.compareTo(DEFAULT_HEARTBEAT_MIN) < 0 ? heartbeatInterval : DEFAULT_HEARTBEAT_MIN;
        }
        if (max == null) {
          max = heartbeatInterval.compareTo(DEFAULT_HEARTBEAT_MAX) > 0 ? heartbeatInterval : DEFAULT_HEARTBEAT_MAX;
        }
      }
      return new ServerConfig(host, port, ioThreads, ioThreadSlice, transport, heartbeatInterval, heartbeatMisses,
          min, max, handshakeTimeout, maxFrameSize, sweep, backoffInitial, backoffMax, sessionRetention, replayBufferMessages,
          replayBufferBytes, slowConsumerPolicy, maxDetachedSessions, maxDetachedBytes, ackBatchMessages, ackDelay, writeCoalescing, maxRequestsInFlight, tcp, limits,
          tokenRefreshAhead, webSocket, altPorts, devices);
    }
  }
}
