package io.longlink.client;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Where a client goes when its direct endpoints do not work from its network (docs/OPERATIONS.md,
 * "Fallback tiers"): the same hosts on the gateway's alternative ports, then WebSocket URLs, then
 * relays. After {@link
 * Builder#failuresBeforeFallback} rounds in a row in which no endpoint of a tier logged in, the client
 * moves to the next tier (after the last, back to the first). While on a lower tier it probes the
 * direct endpoints every {@link Builder#probeDirectEvery} with a bare TCP connect; when one connects,
 * it closes the working connection and resumes the session on the direct path (the probe comes
 * first, so a direct path that does not work never costs the working connection). Each move is a
 * {@link RouteChange}.
 *
 * <p>Immutable; built by {@link #builder()}, whose setters name a bad value.
 */
public final class Fallback {
  final List<Integer> altPorts;
  final List<InetSocketAddress> relays;
  /** The WebSocket tier's URLs by the address each connects to. */
  final java.util.Map<InetSocketAddress, java.net.URI> webSockets;
  final int failuresBeforeFallback;
  final Duration probeDirectEvery;

  private Fallback(Builder b) {
    this.altPorts = List.copyOf(b.altPorts);
    this.relays = List.copyOf(b.relays);
    this.webSockets = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(b.webSockets));
    this.failuresBeforeFallback = b.failuresBeforeFallback;
    this.probeDirectEvery = b.probeDirectEvery;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** One tier: which it is and the endpoints an attempt on it races. */
  record Tier(Route route, List<InetSocketAddress> endpoints) {}

  /** The tiers for {@code direct} endpoints, best first; empty ones left out. */
  List<Tier> tiers(List<InetSocketAddress> direct) {
    List<Tier> out = new ArrayList<>();
    out.add(new Tier(Route.DIRECT, direct));
    if (!altPorts.isEmpty()) {
      List<InetSocketAddress> alt = new ArrayList<>();
      for (InetSocketAddress d : direct) {
        for (int port : altPorts) {
          alt.add(new InetSocketAddress(d.getHostString(), port));
        }
      }
      out.add(new Tier(Route.ALTERNATIVE_PORT, List.copyOf(alt)));
    }
    if (!webSockets.isEmpty()) {
      out.add(new Tier(Route.WEBSOCKET, List.copyOf(webSockets.keySet())));
    }
    if (!relays.isEmpty()) {
      out.add(new Tier(Route.RELAY, relays));
    }
    return List.copyOf(out);
  }

  /** Settings for {@link Fallback}; each setter checks its value. */
  public static final class Builder {
    private final List<Integer> altPorts = new ArrayList<>();
    private final List<InetSocketAddress> relays = new ArrayList<>();
    private final java.util.Map<InetSocketAddress, java.net.URI> webSockets = new java.util.LinkedHashMap<>();
    private int failuresBeforeFallback = 2;
    private Duration probeDirectEvery = Duration.ofMinutes(1);

    private Builder() {}

    /** The gateway's alternative ports ({@code --alt-port}), tried on the direct endpoints' hosts. */
    public Builder altPorts(int... ports) {
      for (int p : ports) {
        if (p < 1 || p > 65535) {
          throw new IllegalArgumentException("altPorts: " + p + " (expected: 1..65535)");
        }
        altPorts.add(p);
      }
      return this;
    }

    /**
     * A gateway's WebSocket listener ({@code --ws-port}, e.g. 443, and {@code --ws-path}), for networks
     * that pass only HTTP(S): {@code ws://host:port/longlink} or {@code wss://...} (TLS with the
     * client's {@code tls(..)} settings, else the JDK's trusted authorities).
     */
    public Builder webSocket(String url) {
      java.net.URI uri;
      try {
        uri = new java.net.URI(Objects.requireNonNull(url, "url"));
      } catch (java.net.URISyntaxException e) {
        throw new IllegalArgumentException("webSocket: " + url + " (expected: ws://host[:port]/path): " + e.getMessage());
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
      if (!(scheme.equals("ws") || scheme.equals("wss")) || uri.getHost() == null) {
        throw new IllegalArgumentException("webSocket: " + url + " (expected: ws://host[:port]/path or wss://...)");
      }
      int port = uri.getPort() > 0 ? uri.getPort() : scheme.equals("wss") ? 443 : 80;
      webSockets.put(new InetSocketAddress(uri.getHost(), port), uri);
      return this;
    }

    /** Relays ({@code longlink relay}), the last tier. */
    public Builder relay(String host, int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("relay port: " + port + " (expected: 1..65535)");
      }
      relays.add(new InetSocketAddress(Objects.requireNonNull(host, "host"), port));
      return this;
    }

    /** Relays, the last tier. */
    public Builder relay(InetSocketAddress address) {
      relays.add(Objects.requireNonNull(address, "address"));
      return this;
    }

    /** Rounds in a row that fail on a tier before the next tier; default 2. */
    public Builder failuresBeforeFallback(int rounds) {
      if (rounds < 1) {
        throw new IllegalArgumentException("failuresBeforeFallback: " + rounds + " (expected: >= 1)");
      }
      this.failuresBeforeFallback = rounds;
      return this;
    }

    /** How often a client on a lower tier probes the direct endpoints; default 1 min. */
    public Builder probeDirectEvery(Duration every) {
      if (every == null || every.toMillis() < 100) {
        throw new IllegalArgumentException("probeDirectEvery: " + every + " (expected: >= 100ms)");
      }
      this.probeDirectEvery = every;
      return this;
    }

    public Fallback build() {
      return new Fallback(this);
    }
  }
}
