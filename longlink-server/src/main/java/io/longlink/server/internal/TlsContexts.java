package io.longlink.server.internal;

import io.longlink.server.ServerTls;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ReferenceCounted;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listener's TLS: the current server {@link SslContext}, made from a {@link ServerTls}'s files,
 * and replaced when they change. The provider is chosen once: BoringSSL (netty-tcnative) when it
 * loads, else the JDK's (logged, like the transport). TLS 1.3 and 1.2 only.
 *
 * <p>Contexts of the OpenSSL provider are reference counted: each engine holds its context, so a
 * replaced context lives on exactly as long as the connections made with it, and is freed after
 * the last one. Thread-safe: {@link #newHandler} runs on every event loop, reloads on one thread.
 */
public final class TlsContexts implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);

  /** The files as last loaded: a change of size or modification time is a change. */
  private record Stamp(List<String> files) {
    static Stamp of(ServerTls tls) throws IOException {
      return new Stamp(List.of(stamp(tls.certificateChain()), stamp(tls.privateKey()),
          tls.clientCa() == null ? "" : stamp(tls.clientCa())));
    }

    private static String stamp(Path p) throws IOException {
      BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
      return a.lastModifiedTime().toMillis() + "/" + a.size() + "/" + a.fileKey();
    }
  }

  /** What a reload did. */
  public record Reload(boolean changed, String error) {
    public boolean ok() {
      return error == null;
    }
  }

  private final ServerTls settings;
  private final SslProvider provider;
  private final AtomicReference<SslContext> current = new AtomicReference<>();
  private Stamp stamp; // guarded by this
  private long reloads; // guarded by this

  /**
   * Loads the files now.
   *
   * @throws IllegalArgumentException the files do not make a usable context; the message says why
   */
  public TlsContexts(ServerTls settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.provider = provider();
    try {
      stamp = Stamp.of(settings);
      current.set(build(settings, provider));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("TLS: cannot use " + settings.certificateChain() + " and "
          + settings.privateKey() + (settings.clientCa() == null ? "" : " (client CA " + settings.clientCa() + ")")
          + ": " + e.getMessage(), e);
    }
  }

  /** BoringSSL when it loads, else the JDK's provider. */
  public static SslProvider provider() {
    return OpenSsl.isAvailable() ? SslProvider.OPENSSL_REFCNT : SslProvider.JDK;
  }

  /** Why BoringSSL is not used, or {@code null} when it is. */
  public static String fallbackReason() {
    Throwable t = OpenSsl.unavailabilityCause();
    return t == null ? null : t.toString();
  }

  private static SslContext build(ServerTls s, SslProvider provider) throws SSLException {
    SslContextBuilder b = SslContextBuilder.forServer(s.certificateChain().toFile(), s.privateKey().toFile())
        .sslProvider(provider)
        .protocols(ServerTls.PROTOCOLS);
    if (s.clientCa() != null) {
      b.trustManager(s.clientCa().toFile()).clientAuth(ClientAuth.REQUIRE);
    }
    return b.build();
  }

  /** "BoringSSL" or "JDK", for the start-up line. */
  public String providerName() {
    return provider == SslProvider.JDK ? "JDK" : "BoringSSL " + OpenSsl.versionString();
  }

  public ServerTls settings() {
    return settings;
  }

  /**
   * A handler for a new connection, made with the current context. It has no timeout of its own:
   * the connection's handshake timeout covers the TLS handshake.
   */
  public SslHandler newHandler(ByteBufAllocator alloc) {
    while (true) {
      SslContext c = current.get();
      if (!(c instanceof ReferenceCounted rc)) {
        return configure(c.newHandler(alloc));
      }
      try {
        rc.retain(); // a reload may release it meanwhile; the engine retains it for itself
      } catch (IllegalReferenceCountException replaced) {
        continue;
      }
      try {
        return configure(c.newHandler(alloc));
      } finally {
        rc.release();
      }
    }
  }

  private static SslHandler configure(SslHandler h) {
    h.setHandshakeTimeoutMillis(0);
    return h;
  }

  /** Reloads if a file changed since the last load. */
  public Reload reloadIfChanged() {
    return reload(false);
  }

  /** Reloads now, changed or not. */
  public Reload reload() {
    return reload(true);
  }

  private synchronized Reload reload(boolean force) {
    Stamp now;
    try {
      now = Stamp.of(settings);
    } catch (IOException e) {
      return failed("cannot read the TLS files: " + e);
    }
    if (!force && now.equals(stamp)) {
      return new Reload(false, null);
    }
    SslContext next;
    try {
      next = build(settings, provider);
    } catch (SSLException | RuntimeException e) {
      stamp = now; // reported once per change, not at every check
      return failed("TLS files " + settings.certificateChain() + " / " + settings.privateKey()
          + " do not make a usable certificate (" + e.getMessage() + "); still serving the previous one");
    }
    stamp = now;
    reloads++;
    ReferenceCountUtil.release(current.getAndSet(next));
    log.info("TLS certificate reloaded from {} (reload {}): new connections get it, open ones keep theirs",
        settings.certificateChain(), reloads);
    return new Reload(true, null);
  }

  private static Reload failed(String why) {
    log.error("{}", why);
    return new Reload(false, why);
  }

  @Override
  public void close() {
    ReferenceCountUtil.release(current.getAndSet(null));
  }
}
