package io.longlink.chaos;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy that forwards one listen address to one upstream and applies {@link Toxic}s to the
 * connections through it, per direction, added and removed at run time. It knows nothing of what
 * the bytes mean.
 *
 * <pre>{@code
 * try (ChaosProxy proxy = ChaosProxy.builder("gateway")
 *     .listen(new InetSocketAddress("127.0.0.1", 0)).upstream(gatewayAddress).build().start()) {
 *   proxy.addToxic(Toxic.latency("lag", Toxic.Stream.DOWNSTREAM, 200, 50));
 *   ... connect clients to proxy.address() ...
 *   proxy.addToxic(Toxic.blackhole("cut", Toxic.Stream.UPSTREAM)); // half-open from both sides
 * }
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class ChaosProxy implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ChaosProxy.class);

  private final String name;
  private final InetSocketAddress upstream;
  private final EventLoopGroup group;
  private final Random random;
  /** Guarded by {@code this}; insertion order is the order toxics apply in. */
  private final Map<String, Toxic> toxics = new LinkedHashMap<>();
  private final Set<ProxiedConnection> connections = ConcurrentHashMap.newKeySet();
  private InetSocketAddress listen;
  private volatile Channel listener;
  private volatile boolean enabled;

  private ChaosProxy(Builder b) {
    this.name = b.name;
    this.listen = b.listen;
    this.upstream = b.upstream;
    this.random = b.random;
    this.group = new MultiThreadIoEventLoopGroup(b.ioThreads, NioIoHandler.newFactory());
  }

  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** Binds the listen address and starts forwarding. */
  public synchronized ChaosProxy start() {
    bind();
    log.info("chaos proxy {} listening on {} -> {}", name, format(address()), format(upstream));
    return this;
  }

  private void bind() {
    listener = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel inbound) {
            ProxiedConnection c = new ProxiedConnection(ChaosProxy.this, inbound, upstream);
            connections.add(c);
            inbound.closeFuture().addListener(f -> connections.remove(c));
            c.start(snapshot());
          }
        })
        .bind(listen)
        .syncUninterruptibly()
        .channel();
    listen = (InetSocketAddress) listener.localAddress(); // keep the port when re-enabled
    enabled = true;
  }

  public String name() {
    return name;
  }

  /** The bound listen address. */
  public InetSocketAddress address() {
    return listen;
  }

  public InetSocketAddress upstream() {
    return upstream;
  }

  public boolean enabled() {
    return enabled;
  }

  /** Open client connections through the proxy. */
  public int connectionCount() {
    return connections.size();
  }

  /**
   * Disabled: stops listening and resets every connection (the upstream looks down). Enabled again:
   * listens on the same address.
   */
  public synchronized void setEnabled(boolean on) {
    if (on == enabled) {
      return;
    }
    if (on) {
      bind();
    } else {
      enabled = false;
      listener.close().syncUninterruptibly();
      for (ProxiedConnection c : connections) {
        c.onLoop(c::reset);
      }
    }
  }

  /**
   * Adds a toxic; it applies to a {@code toxicity} share of the open connections (in effect when
   * this returns) and of those opened later.
   *
   * @throws IllegalArgumentException if a toxic of that name exists
   */
  public void addToxic(Toxic toxic) {
    Objects.requireNonNull(toxic, "toxic");
    synchronized (this) {
      if (toxics.containsKey(toxic.name())) {
        throw new IllegalArgumentException("toxic '" + toxic.name() + "' exists on proxy " + name
            + " (expected: a new name, or remove it first)");
      }
      toxics.put(toxic.name(), toxic);
    }
    for (ProxiedConnection c : connections) {
      c.onLoopAndWait(() -> c.consider(toxic)); // in effect when this returns
    }
  }

  /** Removes a toxic from the proxy and every connection; false if there was none of that name. */
  public boolean removeToxic(String toxicName) {
    synchronized (this) {
      if (toxics.remove(toxicName) == null) {
        return false;
      }
    }
    for (ProxiedConnection c : connections) {
      c.onLoopAndWait(() -> c.deactivate(toxicName)); // gone when this returns
    }
    return true;
  }

  /** Removes every toxic. */
  public void clearToxics() {
    for (Toxic t : toxics()) {
      removeToxic(t.name());
    }
  }

  /** The toxics, in the order they apply. */
  public synchronized List<Toxic> toxics() {
    return new ArrayList<>(toxics.values());
  }

  synchronized List<Toxic> snapshot() {
    return new ArrayList<>(toxics.values());
  }

  /** Resets every open connection now (keeps listening). */
  public void resetAll() {
    for (ProxiedConnection c : connections) {
      c.onLoop(c::reset);
    }
  }

  boolean draw(double toxicity) {
    return toxicity >= 1.0 || (toxicity > 0 && random.nextDouble() < toxicity);
  }

  Random random() {
    return random;
  }

  @Override
  public synchronized void close() {
    enabled = false;
    Channel l = listener;
    if (l != null) {
      l.close().syncUninterruptibly();
    }
    for (ProxiedConnection c : connections) {
      c.onLoop(c::closeBoth);
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  static String format(InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }

  /** Builds a {@link ChaosProxy}; listen and upstream are required. */
  public static final class Builder {
    private final String name;
    private InetSocketAddress listen;
    private InetSocketAddress upstream;
    private Random random = ThreadLocalRandom.current();
    private int ioThreads = 1;

    private Builder(String name) {
      if (name == null || name.isBlank() || name.contains("/")) {
        throw new IllegalArgumentException("name: '" + name + "' (expected: non-empty, no '/')");
      }
      this.name = name;
    }

    /** Where clients connect; port 0 picks a free one. */
    public Builder listen(InetSocketAddress listen) {
      this.listen = Objects.requireNonNull(listen, "listen");
      return this;
    }

    /** Where the proxy forwards to. */
    public Builder upstream(InetSocketAddress upstream) {
      this.upstream = Objects.requireNonNull(upstream, "upstream");
      return this;
    }

    /** Randomness for toxicity draws and jitter (thread-safe); default a shared random. */
    public Builder random(Random random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /** Event-loop threads; default 1. */
    public Builder ioThreads(int ioThreads) {
      if (ioThreads < 1) {
        throw new IllegalArgumentException("ioThreads: " + ioThreads + " (expected: >= 1)");
      }
      this.ioThreads = ioThreads;
      return this;
    }

    public ChaosProxy build() {
      if (listen == null || upstream == null) {
        throw new IllegalStateException("listen and upstream are required (listen: " + listen + ", upstream: "
            + upstream + ")");
      }
      return new ChaosProxy(this);
    }
  }
}
