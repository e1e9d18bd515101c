package io.longlink.cli;

import io.longlink.server.Limits;
import io.longlink.server.DeviceOptions;
import io.longlink.server.ServerConfig;
import io.longlink.server.TcpOptions;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The gateway's settings as command-line options: heartbeats, handshake, frames, retention and replay
 * buffers, the write path, event loops and transport, TCP. A picocli mixin ({@code @Mixin}) shared by
 * {@code longlink server} and the bench commands that start a gateway, so a bench runs the gateway
 * with the flags and defaults the server command takes. Each default is {@link ServerConfig}'s own.
 * Host and port, acknowledgements ({@link AckOptions}) and limits ({@link LimitOptions}) are mixins
 * of their own: the benches bind loopback, keep their own ACK settings for the load generator and
 * run without limits.
 */
public final class GatewayOptions {
  @Option(names = "--heartbeat-interval", defaultValue = "30s",
      description = "How often clients must send something (default: ${DEFAULT-VALUE}).")
  Duration heartbeatInterval;

  @Option(names = "--heartbeat-misses", defaultValue = "3",
      description = "Silent intervals before a connection is closed (default: ${DEFAULT-VALUE}).")
  int heartbeatMisses;

  @Option(names = "--heartbeat-min",
      description = "Shortest heartbeat interval a client that adapts its interval to its network may use "
          + "(default: 10s, or --heartbeat-interval when shorter).")
  Duration heartbeatMin;

  @Option(names = "--heartbeat-max",
      description = "Longest heartbeat interval such a client may use; the gateway then expects its traffic within "
          + "that interval x --heartbeat-misses (default: 5m, or --heartbeat-interval when longer).")
  Duration heartbeatMax;

  @Option(names = "--handshake-timeout", defaultValue = "5s",
      description = "Time from accept to a valid HELLO (default: ${DEFAULT-VALUE}).")
  Duration handshakeTimeout;

  @Option(names = "--max-frame-size", defaultValue = "1048576",
      description = "Largest frame accepted after the handshake, in bytes (default: ${DEFAULT-VALUE}).")
  int maxFrameSize;

  @Option(names = "--session-retention", defaultValue = "120s",
      description = "How long a session whose connection dropped is kept for resume (default: ${DEFAULT-VALUE}; 0s keeps none).")
  Duration sessionRetention;

  @Option(names = "--replay-buffer-messages", defaultValue = "65536",
      description = "Unacknowledged messages kept per session (default: ${DEFAULT-VALUE}).")
  int replayBufferMessages;

  @Option(names = "--replay-buffer-bytes", defaultValue = "4194304",
      description = "Unacknowledged bytes kept per session (default: ${DEFAULT-VALUE}).")
  long replayBufferBytes;

  @Option(names = "--write-coalescing", defaultValue = "10ms",
      description = "While an event loop writes to many connections at once (a topic fanned out to thousands), gather "
          + "their writes into one pass this often: fewer, larger writes for at most this much more latency; 0s: "
          + "always write at once (default: ${DEFAULT-VALUE}).")
  Duration writeCoalescing;

  @Option(names = "--slow-consumer", defaultValue = "DISCONNECT",
      description = "When a session's replay buffer is full: DISCONNECT (ERROR SLOW_CONSUMER; the session is lost, "
          + "with a count) or DROP_OLDEST (keep the session, drop the oldest messages, report a GAP) "
          + "(default: ${DEFAULT-VALUE}).")
  ServerConfig.SlowConsumerPolicy slowConsumer;

  @Option(names = "--io-threads", defaultValue = "0", description = "Event-loop threads; 0 = one per core (default).")
  int ioThreads;

  @Option(names = "--io-thread-slice", defaultValue = "100us",
      description = "CPU time slice each event-loop thread asks the Linux scheduler for (Linux 6.12+): a loop woken by a "
          + "packet preempts threads running whole default slices instead of waiting for them; 100us..100ms, or 0s "
          + "for the kernel's default (default: ${DEFAULT-VALUE}).")
  Duration ioThreadSlice;

  @Option(names = "--transport", defaultValue = "AUTO",
      description = "AUTO (epoll if available, else NIO), EPOLL, IO_URING or NIO (default: ${DEFAULT-VALUE}).")
  ServerConfig.Transport transport;

  @Option(names = "--tcp-keepalive", defaultValue = "true", arity = "1",
      description = "TCP keepalive on client connections (default: ${DEFAULT-VALUE}).")
  boolean tcpKeepAlive;

  @Option(names = "--tcp-keepalive-idle", defaultValue = "60s",
      description = "Idle time before the first keepalive probe, whole seconds (default: ${DEFAULT-VALUE}).")
  Duration tcpKeepAliveIdle;

  @Option(names = "--tcp-keepalive-interval", defaultValue = "10s",
      description = "Time between keepalive probes (default: ${DEFAULT-VALUE}).")
  Duration tcpKeepAliveInterval;

  @Option(names = "--tcp-keepalive-count", defaultValue = "3",
      description = "Unanswered probes before the kernel drops the connection (default: ${DEFAULT-VALUE}).")
  int tcpKeepAliveCount;

  @Option(names = "--tcp-user-timeout", defaultValue = "30s",
      description = "Unacknowledged data older than this fails the connection; epoll only; 0s = kernel default "
          + "(default: ${DEFAULT-VALUE}).")
  Duration tcpUserTimeout;

  @Option(names = "--so-rcvbuf", defaultValue = "0", description = "Socket receive buffer; 0 = kernel autotuning (default).")
  int receiveBuffer;

  @Option(names = "--so-sndbuf", defaultValue = "0", description = "Socket send buffer; 0 = kernel autotuning (default).")
  int sendBuffer;

  @Option(names = "--backlog", defaultValue = "4096", description = "Listen backlog (default: ${DEFAULT-VALUE}).")
  int backlog;

  @Option(names = "--reuse-port", description = "SO_REUSEPORT on the client port: several gateway processes on this "
      + "host share the port and the kernel spreads connections over them. Use with --redis, so a session resumes "
      + "on whichever process a reconnect reaches.")
  boolean reusePort;

  @Option(names = "--tcp-nodelay", defaultValue = "true", arity = "1", description = "TCP_NODELAY (default: ${DEFAULT-VALUE}).")
  boolean noDelay;

  @Option(names = "--write-buffer-low", defaultValue = "32768",
      description = "Per-connection write-buffer low watermark, bytes (default: ${DEFAULT-VALUE}).")
  int writeBufferLow;

  @Option(names = "--write-buffer-high", defaultValue = "65536",
      description = "Per-connection write-buffer high watermark, bytes (default: ${DEFAULT-VALUE}).")
  int writeBufferHigh;

  @Option(names = "--max-sessions-per-user", defaultValue = "10",
      description = "Most device sessions (HELLO with a device id) one user may have, cluster-wide "
          + "(default: ${DEFAULT-VALUE}).")
  int maxSessionsPerUser;

  @Option(names = "--session-limit-policy", defaultValue = "refuse-newest", converter = LimitPolicyConverter.class,
      description = "What a device login past --max-sessions-per-user does: refuse-newest (LIMIT_EXCEEDED) or "
          + "end-oldest (GOAWAY REPLACED to the user's oldest session) (default: ${DEFAULT-VALUE}).")
  DeviceOptions.LimitPolicy limitPolicy;

  @Option(names = "--presence-topic", defaultValue = "",
      description = "Topic that gets presence events (online, offline) of users' devices; {principal} stands for "
          + "the user, e.g. presence/{principal} (default: none).")
  String presenceTopic;

  @Option(names = "--presence-grace", defaultValue = "10s",
      description = "A device whose connection dropped counts as online this long: a resume within it produces no "
          + "offline/online pair (default: ${DEFAULT-VALUE}).")
  Duration presenceGrace;

  @Option(names = "--presence-lease", defaultValue = "30s",
      description = "Cluster: a node's presence entries outlive its last renewal (every third of this) by this "
          + "long, so a killed node's devices go offline within it (default: ${DEFAULT-VALUE}).")
  Duration presenceLease;

  /** {@code refuse-newest} / {@code end-oldest}. */
  static final class LimitPolicyConverter implements picocli.CommandLine.ITypeConverter<DeviceOptions.LimitPolicy> {
    @Override
    public DeviceOptions.LimitPolicy convert(String value) {
      return DeviceOptions.LimitPolicy.valueOf(value.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
    }
  }

  /** These settings on {@code b} (everything else it has stays). */
  public ServerConfig.Builder applyTo(ServerConfig.Builder b) {
    return b.ioThreads(ioThreads)
        .ioThreadSlice(ioThreadSlice)
        .transport(transport)
        .heartbeatInterval(heartbeatInterval)
        .heartbeatMisses(heartbeatMisses)
        .heartbeatMin(heartbeatMin)
        .heartbeatMax(heartbeatMax)
        .handshakeTimeout(handshakeTimeout)
        .maxFrameSize(maxFrameSize)
        .sessionRetention(sessionRetention)
        .replayBufferMessages(replayBufferMessages)
        .replayBufferBytes(replayBufferBytes)
        .slowConsumerPolicy(slowConsumer)
        .writeCoalescing(writeCoalescing)
        .devices(DeviceOptions.builder().maxSessionsPerUser(maxSessionsPerUser).limitPolicy(limitPolicy)
            .presenceTopic(presenceTopic).presenceGrace(presenceGrace).presenceLease(presenceLease).build())
        .tcp(TcpOptions.builder()
            .keepAlive(tcpKeepAlive, tcpKeepAliveIdle, tcpKeepAliveInterval, tcpKeepAliveCount)
            .userTimeout(tcpUserTimeout)
            .buffers(receiveBuffer, sendBuffer)
            .backlog(backlog)
            .reusePort(reusePort)
            .noDelay(noDelay)
            .writeBufferWaterMarks(writeBufferLow, writeBufferHigh)
            .build());
  }

  /** Unacknowledged messages kept per session ({@code --replay-buffer-messages}). */
  public int replayBufferMessages() {
    return replayBufferMessages;
  }
}
