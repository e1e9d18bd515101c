package io.longlink.app;

import io.longlink.client.ClientListener;
import io.longlink.client.ClientState;
import io.longlink.client.Destination;
import io.longlink.client.LonglinkClient;
import io.longlink.client.ReceivedMessage;
import io.longlink.client.SessionLostEvent;
import io.longlink.protocol.HostPort;
import io.longlink.protocol.TargetKind;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import io.longlink.cli.Durations;

/** {@code longlink client}: scriptable or interactive client. */
@Command(
    name = "client",
    mixinStandardHelpOptions = true,
    description = {
      "Connects as a client. With --send it sends and exits once the gateway acknowledged every message; "
          + "with --receive N it prints N messages (one line each) and exits 0, or exits 1 at --timeout. "
          + "Without either it is interactive: each line typed is sent to --to/--topic and received messages "
          + "are printed. The client reconnects with backoff and resumes its session when the connection breaks; "
          + "state changes go to stderr.",
      "Exit codes: 0 done, 1 timeout, 2 bad usage, 3 refused or disconnected."
    })
final class ClientCommand implements Callable<Integer> {
  static final int TIMEOUT = 1;
  static final int FAILED = 3;

  @Spec CommandSpec spec;

  @Option(names = "--id", required = true, description = "This client's id.")
  String id;

  @Option(names = "--token", defaultValue = "", description = "Token for the gateway's authenticator.")
  String token;

  @Option(names = "--token-file", paramLabel = "FILE", description = "Read the token from this file at each connection "
      + "attempt and whenever the gateway asks for a fresh one (a renewing agent rewrites it); replaces --token.")
  java.nio.file.Path tokenFile;

  @Option(names = "--tls", description = "Connect over TLS (hostname verified; the JDK's trusted authorities unless "
      + "--tls-ca).")
  boolean tls;

  @Option(names = "--tls-ca", paramLabel = "FILE", description = "With --tls: trust the authorities in this PEM file.")
  java.nio.file.Path tlsCa;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "With --tls: present this client certificate "
      + "(PEM; with --tls-key) to a gateway that requires one.")
  java.nio.file.Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "PEM private key (PKCS#8) of --tls-cert.")
  java.nio.file.Path tlsKey;

  @Option(names = "--server", defaultValue = "127.0.0.1:7000", paramLabel = "HOST:PORT",
      description = "Gateway address (default: ${DEFAULT-VALUE}).")
  String server;

  static final class Target {
    @Option(names = "--to", paramLabel = "ID", description = "Send to this client id.")
    String to;

    @Option(names = "--topic", paramLabel = "TOPIC", description = "Send to this topic.")
    String topic;

    @Option(names = "--to-user", paramLabel = "PRINCIPAL",
        description = "Send to every device of this user (sessions that logged in with --device).")
    String user;
  }

  @Option(names = "--device", paramLabel = "ID",
      description = "Log in as this device of its user (protocol version 3): kept beside the user's other devices, "
          + "reached by --to-user, shown in presence.")
  String device;

  @ArgGroup(exclusive = true)
  Target target;

  @Option(names = "--subscribe", paramLabel = "TOPIC", description = "Subscribe to a topic first (repeatable).")
  List<String> subscribe = new ArrayList<>();

  @Option(names = "--send", paramLabel = "TEXT", description = "Send TEXT, then exit once acknowledged.")
  String send;

  @Option(names = "--send-count", paramLabel = "N",
      description = "Send N messages, payloads TEXT0, TEXT1, ... TEXT(N-1) (default: one message, TEXT).")
  Integer sendCount;

  @Option(names = "--receive", paramLabel = "N", description = "Print N received messages, then exit.")
  Integer receive;

  @Option(names = "--timeout", defaultValue = "30s", description = "Deadline for the whole command (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(names = "--no-reconnect", description = "Exit (code 3) when the connection is lost instead of reconnecting "
      + "and resuming the session.")
  boolean noReconnect;

  @Option(names = "--json", description = "Print received messages as JSON lines: from, to or topic, seq, payload.")
  boolean json;

  @picocli.CommandLine.Mixin AdaptiveHeartbeatOptions heartbeat;

  @picocli.CommandLine.Mixin FallbackOptions fallback;

  @Option(names = "--connect-timeout", defaultValue = "10s",
      description = "Timeout of one TCP connect and of the login after it (default: ${DEFAULT-VALUE}).")
  Duration connectTimeout;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (send != null && target == null) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--send needs --to ID, --topic TOPIC or --to-user PRINCIPAL");
    }
    if (sendCount != null && (sendCount < 1 || send == null)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--send-count needs --send and N >= 1");
    }
    if (receive != null && receive < 1) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--receive N needs N >= 1");
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    int wanted = receive == null ? Integer.MAX_VALUE : receive;
    CompletableFuture<Void> allReceived = new CompletableFuture<>();
    AtomicInteger printed = new AtomicInteger();
    CompletableFuture<Throwable> lost = new CompletableFuture<>();
    LonglinkClient[] clientRef = new LonglinkClient[1];
    LonglinkClient.Builder builder = LonglinkClient.builder();
    if (tls || tlsCa != null) {
      io.longlink.client.ClientTls t = tlsCa == null ? io.longlink.client.ClientTls.systemTrust()
          : io.longlink.client.ClientTls.trust(tlsCa);
      if (tlsCert != null || tlsKey != null) {
        t = t.clientCertificate(tlsCert, tlsKey);
      }
      builder.tls(t);
    }
    if (tokenFile != null) {
      java.nio.file.Path f = tokenFile;
      builder.tokenProvider(() -> java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return java.nio.file.Files.readString(f).trim();
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException("--token-file " + f + ": " + e.getMessage(), e);
        }
      }));
    } else {
      builder.token(token);
    }
    io.longlink.client.AdaptiveHeartbeat adaptive = heartbeat.settings();
    if (adaptive != null) {
      builder.adaptiveHeartbeat(adaptive);
    }
    if (fallback.fallback() != null) {
      builder.fallback(fallback.fallback());
    }
    builder.connectTimeout(connectTimeout);
    if (device != null) {
      builder.deviceId(device);
    }
    LonglinkClient client = builder
        .endpoint(HostPort.parse(server, "--server"))
        .clientId(id)
        .listener(new ClientListener() {
          @Override
          public void onMessage(ReceivedMessage m) {
            int n = printed.incrementAndGet();
            if (n <= wanted) {
              out.println(json ? toJson(m) : toText(m));
              out.flush();
              if (n == wanted) {
                allReceived.complete(null);
              }
            }
          }

          @Override
          public void onStateChanged(ClientState previous, ClientState current, Throwable cause) {
            String why = cause == null ? "" : ": " + cause.getMessage();
            switch (current) {
              case CONNECTED:
                err.println("[longlink] connected as " + id + " to " + server);
                break;
              case RECONNECTING:
                Duration in = clientRef[0] == null ? null : clientRef[0].nextRetryIn();
                err.println("[longlink] connection lost" + why + "; reconnecting"
                    + (in == null ? "" : " in " + in.toMillis() + " ms") + " (attempt " + (clientRef[0] == null ? "?"
                    : clientRef[0].attempt()) + ")");
                break;
              case DISCONNECTED:
                err.println("[longlink] disconnected" + why);
                lost.complete(cause);
                break;
              default:
                break;
            }
            err.flush();
          }

          @Override
          public void onRouteChanged(io.longlink.client.RouteChange c) {
            err.println("[longlink] route " + c.from().name().toLowerCase(java.util.Locale.ROOT) + " -> "
                + c.to().name().toLowerCase(java.util.Locale.ROOT) + " ("
                + c.cause().name().toLowerCase(java.util.Locale.ROOT) + ")");
            err.flush();
          }

          @Override
          public void onHeartbeatChanged(io.longlink.client.HeartbeatChange c) {
            err.println("[longlink] heartbeat " + c.cause().name().toLowerCase(java.util.Locale.ROOT) + ": "
                + c.interval().toMillis() + " ms (was " + c.previous().toMillis() + " ms)" + (c.held() ? " held" : "")
                + " on network " + c.network());
            err.flush();
          }

          @Override
          public void onSessionLost(SessionLostEvent e) {
            err.println("[longlink] SESSION_LOST: session " + e.oldSessionId() + " is gone; new session "
                + e.newSessionId() + "; " + e.messagesLostByServer() + " message(s) for us lost by the server, "
                + e.unconfirmedSends() + " send(s) unconfirmed; topics re-subscribed");
            err.flush();
          }
        })
        .reconnect(!noReconnect)
        .build();
    clientRef[0] = client;
    try {
      await(client.connect(), deadline);
      for (String t : subscribe) {
        await(client.subscribe(t), deadline);
      }
      if (send != null) {
        int n = sendCount == null ? 1 : sendCount;
        List<CompletableFuture<Void>> acks = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          String text = sendCount == null ? send : send + i;
          acks.add(client.send(destination(), text.getBytes(StandardCharsets.UTF_8)));
        }
        await(CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])), deadline);
        err.println("[longlink] " + n + " message(s) acknowledged by the gateway");
      }
      if (receive != null) {
        try {
          await(CompletableFuture.anyOf(allReceived, lost), deadline);
        } catch (TimeoutException e) {
          err.println("[longlink] timeout: received " + Math.min(printed.get(), receive) + " of " + receive
              + " message(s) within " + Durations.format(timeout));
          return TIMEOUT;
        }
        if (!allReceived.isDone()) {
          return FAILED;
        }
      } else if (send == null) {
        return interactive(client, lost, err);
      }
      return 0;
    } catch (TimeoutException e) {
      err.println("[longlink] timeout after " + Durations.format(timeout) + ": " + e.getMessage());
      return TIMEOUT;
    } catch (ExecutionException e) {
      err.println("[longlink] failed: " + e.getCause().getMessage());
      return FAILED;
    } finally {
      client.close();
      err.flush();
    }
  }

  private int interactive(LonglinkClient client, CompletableFuture<Throwable> lost, PrintWriter err) throws Exception {
    if (target == null) {
      err.println("[longlink] receiving only (give --to, --topic or --to-user to send typed lines); Ctrl-D to quit");
    }
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null && !lost.isDone(); ) {
      if (target != null && !line.isEmpty()) {
        client.send(destination(), line.getBytes(StandardCharsets.UTF_8)).whenComplete((v, e) -> {
          if (e != null) {
            err.println("[longlink] not sent: " + e.getMessage());
            err.flush();
          }
        });
      }
    }
    return lost.isDone() ? FAILED : 0;
  }

  private Destination destination() {
    return target.to != null ? Destination.client(target.to)
        : target.topic != null ? Destination.topic(target.topic) : Destination.user(target.user);
  }

  private static void await(CompletableFuture<?> f, long deadline) throws Exception {
    f.get(Math.max(deadline - System.nanoTime(), 0), TimeUnit.NANOSECONDS);
  }

  static String toJson(ReceivedMessage m) {
    StringBuilder b = new StringBuilder("{\"from\":").append(Json.quote(m.from()))
        .append(switch (m.targetKind()) {
          case CLIENT -> ",\"to\":";
          case TOPIC -> ",\"topic\":";
          case USER -> ",\"user\":";
        }).append(Json.quote(m.target()))
        .append(",\"seq\":").append(m.seq());
    String text = utf8OrNull(m.payload());
    if (text != null) {
      b.append(",\"payload\":").append(Json.quote(text));
    } else {
      b.append(",\"payload_base64\":").append(Json.quote(Base64.getEncoder().encodeToString(m.payload())));
    }
    return b.append('}').toString();
  }

  static String toText(ReceivedMessage m) {
    String text = utf8OrNull(m.payload());
    String where = switch (m.targetKind()) {
      case CLIENT -> "";
      case TOPIC -> " [" + m.target() + "]";
      case USER -> " [user " + m.target() + "]";
    };
    String from = m.from().isEmpty() ? "(server)" : m.from();
    return from + where + ": " + (text != null ? text : "<" + m.payload().length + " bytes>");
  }

  private static String utf8OrNull(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return null;
    }
  }
}
