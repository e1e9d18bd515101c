package io.longlink.app;

import io.longlink.cli.AckOptions;
import io.longlink.cli.GatewayOptions;
import io.longlink.cli.LimitOptions;
import io.longlink.cli.AuthOptions;
import io.longlink.cli.TlsOptions;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.longlink.server.admin.AdminServer;
import java.io.File;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

  @Option(names = "--ws-port", defaultValue = "7002",
      description = "WebSocket port: the same frames and sessions for browsers and HTTP-only networks, ws:// (wss:// "
          + "with --tls-cert) (default: ${DEFAULT-VALUE}; 0 picks one; -1 disables it).")
  int wsPort;

  @Option(names = "--alt-port", paramLabel = "PORT",
      description = "Also listen on this TCP port, serving exactly what --port serves: for clients on networks that "
          + "block unusual ports (e.g. 443); the SDK moves to these after the main port fails (repeatable).")
  java.util.List<Integer> altPorts = new java.util.ArrayList<>();

  @Option(names = "--ws-path", defaultValue = "/longlink",
      description = "URL path of the WebSocket upgrade (default: ${DEFAULT-VALUE}).")
  String wsPath;

  @Option(names = "--ws-allowed-origins", split = ",", paramLabel = "ORIGIN",
      description = "Origins of the web pages that may connect over WebSocket (scheme://host[:port], comma-separated, "
          + "or *). Default: any while --host is a loopback address; required otherwise.")
  java.util.List<String> wsAllowedOrigins = java.util.List.of();

  @Mixin GatewayOptions gateway;

  @Mixin AckOptions acks;

  @Mixin LimitOptions limits;

  @Mixin TlsOptions tls;

  @Mixin AuthOptions auth;

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
    ServerConfig cfg = acks.applyTo(gateway.applyTo(ServerConfig.builder().host(host).port(port)))
        .limits(limits.limits())
        .tokenRefreshAhead(auth.refreshAhead())
        .webSocket(new io.longlink.server.WebSocketOptions(wsPort, wsPath, wsAllowedOrigins))
        .altPorts(altPorts)
        .build();
    LonglinkServer.Builder builder = LonglinkServer.builder().config(cfg).authenticator(auth.authenticator())
        .authorizer(auth.authorizer());
    if (tls.serverTls() != null) {
      builder.tls(tls.serverTls());
    }
    if (!redis.isEmpty()) {
      builder.cluster(io.longlink.cluster.redis.RedisNodeRegistry.connect(redis, clusterName, Duration.ofSeconds(10)),
          nodeId, advertise, adminPort < 0 ? "" : adminHost + ":" + adminPort);
      builder.clusterStore(io.longlink.cluster.redis.RedisClusterStore.connect(redis, clusterName, gateway.replayBufferMessages()));
    }
    LonglinkServer server = builder.build().start();
    AdminServer admin = adminPort < 0 ? null : AdminServer.start(server, adminHost, adminPort, adminToken,
        tls.adminTls());
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
