package io.longlink.app;

import io.longlink.server.Limits;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.TcpOptions;
import io.longlink.server.admin.AdminServer;
import java.io.File;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code longlink server}: a single-node gateway with in-memory state. */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a single-node gateway with in-memory state until stopped (Ctrl-C / SIGTERM).",
      "Every option can also come from --config FILE: a properties file whose keys are the long option names "
          + "without the leading dashes, e.g. 'port=7000' or 'heartbeat-interval=30s'. Flags override the file."
    })
final class ServerCommand implements Callable<Integer> {
  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", defaultValue = "7000", description = "Client port (default: ${DEFAULT-VALUE}; 0 picks one).")
  int port;

  @Option(names = "--admin-host", defaultValue = "127.0.0.1", description = "Admin API address (default: ${DEFAULT-VALUE}).")
  String adminHost;

  @Option(names = "--redis", defaultValue = "",
      description = "Join a cluster through this Redis (redis://HOST:PORT, or redis-cluster://HOST:PORT[,HOST:PORT...] "
          + "for Redis Cluster): sessions that resume on any node, messages to clients on any node, the node "
          + "registry (GET /v1/nodes). Default: none (single node).")
  String redis;

  @Option(names = "--cluster-name", defaultValue = "longlink",
      description = "Names the cluster in Redis, so clusters can share one (default: ${DEFAULT-VALUE}).")
  String clusterName;

  @Option(names = "--node-id", defaultValue = "",
      description = "This node's id in the cluster (default: its client address).")
  String nodeId;

  @Option(names = "--advertise", defaultValue = "",
      description = "HOST:PORT other nodes send clients to (default: the bound address).")
  String advertise;

  @Option(names = "--log-format", defaultValue = "CONSOLE",
      description = "CONSOLE (human-readable lines) or JSON (one object per line, lifecycle events with their fields) "
          + "(default: ${DEFAULT-VALUE}).")
  LogFormat logFormat;

  @Option(names = "--admin-token", defaultValue = "",
      description = "Bearer token the admin API requires (all but /healthz and /readyz); needed when --admin-host "
          + "is not a loopback address. Default: none (loopback only).")
  String adminToken;

  @Option(names = "--admin-port", defaultValue = "7001",
      description = "Admin HTTP port: GET /healthz (default: ${DEFAULT-VALUE}; -1 disables it).")
  int adminPort;

  @Option(names = "--heartbeat-interval", defaultValue = "30s",
      description = "How often clients must send something (default: ${DEFAULT-VALUE}).")
  Duration heartbeatInterval;

  @Option(names = "--heartbeat-misses", defaultValue = "3",
      description = "Silent intervals before a connection is closed (default: ${DEFAULT-VALUE}).")
  int heartbeatMisses;

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

  @Option(names = "--ack-batch", defaultValue = "64",
      description = "The node acknowledges a client's messages at the latest after this many (default: ${DEFAULT-VALUE}).")
  int ackBatch;

  @Option(names = "--ack-delay", defaultValue = "0s",
      description = "Acknowledge this long after the first unacknowledged client message instead of at the end of each "
          + "read: fewer ACK frames (and system calls) for clients that send often, at the cost of that much more "
          + "replay buffering on their side (default: ${DEFAULT-VALUE}).")
  Duration ackDelay;

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

  @Option(names = "--tcp-nodelay", defaultValue = "true", arity = "1", description = "TCP_NODELAY (default: ${DEFAULT-VALUE}).")
  boolean noDelay;

  @Option(names = "--write-buffer-low", defaultValue = "32768",
      description = "Per-connection write-buffer low watermark, bytes (default: ${DEFAULT-VALUE}).")
  int writeBufferLow;

  @Option(names = "--write-buffer-high", defaultValue = "65536",
      description = "Per-connection write-buffer high watermark, bytes (default: ${DEFAULT-VALUE}).")
  int writeBufferHigh;

  @Option(names = "--max-connections", defaultValue = "1000000",
      description = "Open connections per node; 0 = no bound (default: ${DEFAULT-VALUE}).")
  int maxConnections;

  @Option(names = "--max-connections-per-address", defaultValue = "0",
      description = "Open connections per remote IP; 0 = off, the default (clients behind one NAT share an address).")
  int maxConnectionsPerAddress;

  @Option(names = "--max-new-connections-per-second-per-address", defaultValue = "0",
      description = "New connections per second per remote IP; 0 = off (default).")
  int maxNewConnectionsPerSecondPerAddress;

  @Option(names = "--max-inbound-messages-per-second", defaultValue = "10000",
      description = "Frames per second one connection may send, at most 32767; 0 = no bound (default: ${DEFAULT-VALUE}).")
  int maxInboundMessagesPerSecond;

  @Option(names = "--max-inbound-bytes-per-second", defaultValue = "16777216",
      description = "Bytes per second one connection may send; 0 = no bound (default: ${DEFAULT-VALUE}).")
  int maxInboundBytesPerSecond;

  @Option(names = "--max-subscriptions", defaultValue = "1000",
      description = "Topics one session may subscribe to; 0 = no bound (default: ${DEFAULT-VALUE}).")
  int maxSubscriptions;

  @Option(names = "--max-handshakes-per-second", defaultValue = "10000",
      description = "Admission control: logins and resumes per second per node; past it clients get GOAWAY "
          + "RATE_LIMITED with a spread retry-after; 0 = off (default: ${DEFAULT-VALUE}).")
  int maxHandshakesPerSecond;

  @Option(names = "--handshake-burst", defaultValue = "20000",
      description = "Logins admitted at once before the per-second rate applies (default: ${DEFAULT-VALUE}).")
  int handshakeBurst;

  @Option(names = "--handshake-retry-window", defaultValue = "10s",
      description = "Refused logins are told to retry after a delay drawn from [0, this] (default: ${DEFAULT-VALUE}).")
  Duration handshakeRetryWindow;

  @Option(names = "--drain-spread", defaultValue = "30s",
      description = "On SIGTERM or POST /v1/drain, clients are told to reconnect after a delay drawn from [0, this] "
          + "(default: ${DEFAULT-VALUE}).")
  Duration drainSpread;

  @Option(names = "--drain-timeout", defaultValue = "30s",
      description = "How long a drain waits for clients to acknowledge and leave before closing the rest "
          + "(default: ${DEFAULT-VALUE}).")
  Duration drainTimeout;

  @Option(names = "--config", paramLabel = "FILE", description = "Properties file with defaults for these options.")
  File config;

  @Override
  public Integer call() throws Exception {
    logFormat.apply();
    ServerConfig cfg = ServerConfig.builder()
        .host(host)
        .port(port)
        .ioThreads(ioThreads)
        .ioThreadSlice(ioThreadSlice)
        .transport(transport)
        .heartbeatInterval(heartbeatInterval)
        .heartbeatMisses(heartbeatMisses)
        .handshakeTimeout(handshakeTimeout)
        .maxFrameSize(maxFrameSize)
        .sessionRetention(sessionRetention)
        .replayBufferMessages(replayBufferMessages)
        .replayBufferBytes(replayBufferBytes)
        .slowConsumerPolicy(slowConsumer)
        .ackBatchMessages(ackBatch)
        .ackDelay(ackDelay)
        .writeCoalescing(writeCoalescing)
        .tcp(TcpOptions.builder()
            .keepAlive(tcpKeepAlive, tcpKeepAliveIdle, tcpKeepAliveInterval, tcpKeepAliveCount)
            .userTimeout(tcpUserTimeout)
            .buffers(receiveBuffer, sendBuffer)
            .backlog(backlog)
            .noDelay(noDelay)
            .writeBufferWaterMarks(writeBufferLow, writeBufferHigh)
            .build())
        .limits(new Limits(maxConnections, maxConnectionsPerAddress, maxNewConnectionsPerSecondPerAddress,
            maxInboundMessagesPerSecond, maxInboundBytesPerSecond, maxSubscriptions, maxHandshakesPerSecond,
            handshakeBurst, (int) Math.min(Integer.MAX_VALUE, handshakeRetryWindow.toMillis())))
        .build();
    LonglinkServer.Builder builder = LonglinkServer.builder().config(cfg);
    if (!redis.isEmpty()) {
      builder.cluster(io.longlink.cluster.redis.RedisNodeRegistry.connect(redis, clusterName, Duration.ofSeconds(10)),
          nodeId, advertise, adminPort < 0 ? "" : adminHost + ":" + adminPort);
      builder.clusterStore(io.longlink.cluster.redis.RedisClusterStore.connect(redis, clusterName, replayBufferMessages));
    }
    LonglinkServer server = builder.build().start();
    AdminServer admin = adminPort < 0 ? null : AdminServer.start(server, adminHost, adminPort, adminToken);
    if (admin != null) {
      admin.onDrain(UntilStopped::signalDrain); // the same path as SIGTERM: drain, then exit 0
    }
    UntilStopped.awaitWithDrain(() -> {
      try {
        server.drain(drainSpread, drainTimeout);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IllegalStateException e) {
        // not running any more: nothing to drain
      }
      stop(server, admin);
    }, () -> stop(server, admin));
    return 0;
  }

  private static void stop(LonglinkServer server, AdminServer admin) {
    if (admin != null) {
      admin.close();
    }
    server.close();
  }
}
