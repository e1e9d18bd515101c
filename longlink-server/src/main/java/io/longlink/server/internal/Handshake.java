package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import io.longlink.protocol.SessionStatus;
import io.longlink.protocol.Ticker;
import io.longlink.server.Authenticator;
import io.longlink.server.Authenticator.AuthResult;
import io.longlink.server.Authorizer;
import io.longlink.server.Authorizer.Permissions;
import io.longlink.server.Limits;
import io.longlink.server.ServerConfig;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's answer to a HELLO, in the order docs/PROTOCOL.md section 4 gives: the version, admission
 * control, authentication, then the session (resumed, or new: NEW or LOST) from the {@link
 * SessionDirectory}. One per node, holding no per-connection state: what it learns about a
 * connection it tells the connection ({@link Party}).
 *
 * <p>A step the directory answers later (a cluster store's claim or create) puts the connection in
 * CLAIMING ({@link Party#claim}): it reads nothing more until the session is open, and the answer is
 * acted on, on the connection's event loop, only if the connection is still claiming (a handshake
 * timeout or a dropped connection in between ends it). A step answered at once is acted on at once,
 * within the read of the HELLO, so the frames behind it are decoded in the same pass.
 *
 * <p>Thread-safe; {@link #onHello} runs on the connection's event loop.
 */
final class Handshake {
  private static final Logger log = LoggerFactory.getLogger(Handshake.class);

  /** What the handshake may ask of the connection whose HELLO it answers. Event loop only, except {@link #execute}. */
  interface Party extends Connection {
    /** Stops reading until {@link #opened}: the session is being found or made elsewhere. */
    void claim();

    /** Still waiting for its session ({@link #claim} called, not open, not closing). */
    boolean claiming();

    /** ERROR {@code code} and close (nothing, once closing). */
    void refuse(ErrorCode code, String message);

    /** GOAWAY and close (nothing, once closing). */
    void refuse(Frame.GoAway goAway);

    /** Holds {@code s} from now on: writes WELCOME; the next message it writes follows {@code writtenSeq}. */
    void open(Session s, Frame.Welcome welcome, long writtenSeq);

    /** Writes what its session has buffered after what the client said it has (a resume's replay). */
    void replay();

    /** The handshake is over: a claimed connection reads again, starting with the frames that waited. */
    void opened();

    /** Runs {@code task} on the connection's event loop: now if called there, else as a task (none once the loop stopped). */
    void execute(Runnable task);

    /** Its event loop, where the directory's answers are acted on. */
    Executor loop();

    /** The peer's address, for the authenticator and the lifecycle log. */
    SocketAddress remote();

    /** Whether the connection is over TLS (the authenticator may want to know). */
    boolean tls();

    /** What its credential allows and until when, from now on; {@code null}: everything, forever. */
    void authenticated(ConnectionAuth auth);
  }

  /** Retry-after for a client whose login the authenticator could not decide (it threw or failed). */
  private static final Duration UNDECIDED_RETRY = Duration.ofSeconds(1);

  private final ServerConfig config;
  private final Authenticator authenticator;
  private final Authorizer authorizer;
  private final SessionDirectory directory;
  private final NodeCounters counters;
  private final Ticker ticker;
  /** Admission control for logins and resumes; {@code null} when off. Guarded by itself. */
  private final TokenBucket admission;

  Handshake(ServerConfig config, Authenticator authenticator, Authorizer authorizer,
      SessionDirectory directory, NodeCounters counters, Ticker ticker) {
    this.config = config;
    this.authenticator = authenticator;
    this.authorizer = authorizer;
    this.directory = directory;
    this.counters = counters;
    this.ticker = ticker;
    Limits l = config.limits();
    this.admission = l.maxHandshakesPerSecond() == 0 ? null
        : new TokenBucket(l.maxHandshakesPerSecond(), l.handshakeBurst(), ticker.nanoTime());
  }

  /** The connection's first frame, {@code hello}. */
  void onHello(Party c, Frame.Hello hello) {
    if (hello.version() < Frame.VERSION || hello.version() > Frame.MAX_VERSION) {
      c.refuse(ErrorCode.UNSUPPORTED_VERSION, "version " + hello.version() + " (expected: " + Frame.VERSION + ".."
          + Frame.MAX_VERSION + ")");
      return;
    }
    if (!admit()) {
      // Admission control: pace a returning crowd with spread retry-afters instead of doing the work.
      int delay = Gateway.spreadDelayMillis(config.limits().handshakeRetryWindowMillis());
      counters.limitHits.get(Limits.Limit.HANDSHAKES).increment();
      log.debug("{}: login refused by admission control; retry in {} ms", c, delay);
      c.refuse(new Frame.GoAway(ErrorCode.RATE_LIMITED, "node busy: too many logins; retry after the delay", delay, ""));
      return;
    }
    whenAnswered(c, verdict(c, hello.clientId(), hello.token()), v -> onVerdict(c, hello, v));
  }

  /**
   * The authenticator's verdict on {@code token}; never a failed stage: an authenticator that throws
   * or fails could not decide, so the answer is "unavailable, retry later" (fail closed).
   */
  private CompletionStage<AuthResult> verdict(Party c, String clientId, String token) {
    CompletionStage<AuthResult> v;
    try {
      v = authenticator.authenticateAsync(clientId, token, c.remote(), c.tls());
    } catch (RuntimeException e) {
      v = CompletableFuture.failedFuture(e);
    }
    return v.handle((r, err) -> err != null ? AuthResult.unavailable("authenticator failed: " + err, UNDECIDED_RETRY)
        : r != null ? r : AuthResult.reject("no verdict"));
  }

  private void onVerdict(Party c, Frame.Hello hello, AuthResult verdict) {
    if (!accepted(c, hello.clientId(), verdict)) {
      return;
    }
    String subject = verdict.subject();
    c.authenticated(connectionAuth(hello.clientId(), verdict));
    if (hello.resumeSessionId().isEmpty()) {
      login(c, hello, subject, SessionStatus.NEW, 0);
      return;
    }
    counters.resumeAttempts.increment();
    whenAnswered(c, directory.find(Session.keyOf(hello.clientId(), hello.deviceId()), hello.resumeSessionId(), subject,
        c.loop()),
        found -> onFound(c, hello, subject, found));
  }

  /**
   * Whether {@code verdict} lets the client in; if not, refuses it: AUTH_FAILED (the reason goes to
   * the log only), or GOAWAY UNAVAILABLE with a retry-after when the authenticator could not decide.
   */
  private boolean accepted(Party c, String clientId, AuthResult verdict) {
    if (verdict.accepted()) {
      return true;
    }
    String reason = verdict.reason();
    if (verdict.retryAfter() != null) {
      counters.authUnavailable.increment();
      log.warn("{}: cannot authenticate client {} now: {}", c, clientId, reason);
      c.refuse(new Frame.GoAway(ErrorCode.UNAVAILABLE, "authentication unavailable; retry after the delay",
          (int) Math.max(1, Math.min(Integer.MAX_VALUE, verdict.retryAfter().toMillis())), ""));
    } else {
      Lifecycle.authFailed(clientId, c.remote(), reason);
      c.refuse(ErrorCode.AUTH_FAILED, "client " + clientId + " refused");
    }
    return false;
  }

  /** What the connection must remember of an accepted credential; {@code null} when nothing (all allowed, no expiry). */
  private ConnectionAuth connectionAuth(String clientId, AuthResult verdict) {
    Permissions p = authorizer.permissions(verdict.subject(), clientId, verdict.permissions());
    if (p == null) {
      p = Permissions.ALL;
    }
    long validFor = verdict.validFor() == null ? -1 : verdict.validFor().toNanos();
    if (validFor < 0 && p == Permissions.ALL) {
      return null;
    }
    return ConnectionAuth.of(verdict.subject(), p, ticker.nanoTime(), validFor, config.tokenRefreshAhead().toNanos());
  }

  /**
   * A logged-in client's fresh token (AUTH): it must be accepted and name the session's principal;
   * then it replaces the old one (its expiry and permissions). Refused: AUTH_FAILED and close, the
   * session kept for a resume with a valid token.
   */
  void onRefresh(Party c, Session s, String token) {
    verdict(c, s.clientId(), token).thenAccept(v -> c.execute(() -> {
      if (!c.isOpen()) {
        return;
      }
      AuthResult r = v;
      if (r.accepted() && !r.subject().equals(s.subject)) {
        r = AuthResult.reject("fresh token is for principal " + r.subject() + ", session belongs to " + s.subject);
      }
      if (!r.accepted()) {
        counters.refreshesFailed.increment();
        Lifecycle.authFailed(s.clientId(), c.remote(), "refresh: " + r.reason());
        c.refuse(ErrorCode.AUTH_FAILED, "fresh token refused");
        return;
      }
      counters.refreshes.increment();
      c.authenticated(connectionAuth(s.clientId(), r));
      log.debug("{}: token refreshed", c);
    }));
  }

  private boolean admit() {
    if (admission == null) {
      return true;
    }
    synchronized (admission) {
      return admission.tryTake(ticker.nanoTime());
    }
  }

  private void onFound(Party c, Frame.Hello hello, String subject, SessionDirectory.Found found) {
    switch (found) {
      case SessionDirectory.Found.Resumable r -> resumeOrLose(c, hello, subject, r.session());
      case SessionDirectory.Found.Gone g -> lost(c, hello, subject, 0);
      case SessionDirectory.Found.Refused r -> c.refuse(r.code(), r.reason());
      case SessionDirectory.Found.Unavailable u -> {
        int delay = Gateway.spreadDelayMillis(config.limits().handshakeRetryWindowMillis());
        log.debug("{}: {}; retry in {} ms", c, u.reason(), delay);
        c.refuse(new Frame.GoAway(ErrorCode.UNAVAILABLE, Connection.truncate(u.reason()), Math.max(1, delay), ""));
      }
    }
  }

  private void resumeOrLose(Party c, Frame.Hello hello, String subject, Session s) {
    Session.Resume r = s.resume(c, hello.lastReceivedSeq(), hello.attemptStamp(), directory.sessions().replayLimits);
    if (r.stale()) {
      log.debug("{}: stale resume of {}: a newer connection holds it", c, s);
      c.refuse(new Frame.GoAway(ErrorCode.REPLACED, "a newer connection holds session " + s.id(), 0, ""));
      return;
    }
    if (!r.resumed()) {
      lost(c, hello, subject, s.lostFor(hello.lastReceivedSeq()));
      return;
    }
    directory.resumed(s);
    counters.resumed.increment();
    c.open(s, welcome(hello, s, SessionStatus.RESUMED, r.lastReceivedSeq(), 0), hello.lastReceivedSeq());
    counters.handshakesOk.get(SessionStatus.RESUMED).increment();
    Lifecycle.resumed(s.clientId(), s.id(), c.remote(), s.bufferedMessages());
    if (r.previous() != null && r.previous() != c) {
      // The usual case after a NAT expiry or silent partition: the old connection looks alive.
      r.previous().goAway(ErrorCode.REPLACED, "session " + s.id() + " resumed on another connection");
    }
    log.debug("{}: resumed; client has up to {}, server has up to {}", c, hello.lastReceivedSeq(), r.lastReceivedSeq());
    c.replay(); // then whatever comes next
    c.opened();
  }

  /** The session asked for cannot be resumed: a new one, LOST, with what is known lost. */
  private void lost(Party c, Frame.Hello hello, String subject, long lost) {
    counters.resumesLost.increment();
    log.debug("{}: session {} cannot be resumed ({} messages known lost); starting a new one", c,
        hello.resumeSessionId(), lost);
    login(c, hello, subject, SessionStatus.LOST, lost);
  }

  private void login(Party c, Frame.Hello hello, String subject, SessionStatus status, long lost) {
    if (hello.deviceId().isEmpty()) {
      create(c, hello, subject, status, lost);
      return;
    }
    whenAnswered(c, directory.admitDevice(subject, Session.keyOf(hello.clientId(), hello.deviceId())), a -> {
      switch (a) {
        case SessionDirectory.Admission.Admitted ok -> create(c, hello, subject, status, lost);
        case SessionDirectory.Admission.Refused r -> {
          counters.limitHits.get(Limits.Limit.SESSIONS_PER_USER).increment();
          log.debug("{}: device {} of {} refused: {}", c, hello.deviceId(), subject, r.reason());
          c.refuse(ErrorCode.LIMIT_EXCEEDED, Connection.truncate(r.reason()));
        }
        case SessionDirectory.Admission.EndOldest e -> {
          counters.limitHits.get(Limits.Limit.SESSIONS_PER_USER).increment();
          log.debug("{}: device {} of {} ends the user's oldest session", c, hello.deviceId(), subject);
          directory.endOldest(e);
          create(c, hello, subject, status, lost);
        }
      }
    });
  }

  private void create(Party c, Frame.Hello hello, String subject, SessionStatus status, long lost) {
    whenAnswered(c, directory.create(hello, subject, c), s -> loggedIn(c, s, hello, status, lost),
        s -> directory.end(s, null, true)); // the connection went away meanwhile: nobody holds the session
  }

  private void loggedIn(Party c, Session s, Frame.Hello hello, SessionStatus status, long lost) {
    // Registered and welcomed in one task on the connection's loop: no DATA can overtake the WELCOME.
    directory.register(s);
    c.open(s, welcome(hello, s, status, 0, lost), 0);
    counters.handshakesOk.get(status).increment();
    if (status == SessionStatus.LOST) {
      Lifecycle.sessionLost(hello.clientId(), hello.resumeSessionId(), c.remote(), lost);
    }
    Lifecycle.authenticated(hello.clientId(), s.id(), c.remote(), status.name());
    log.debug("{}: logged in ({})", c, status);
    c.opened();
  }

  /**
   * Acts on {@code answer} now if it is in, else claims the connection and acts once it is (on the
   * loop, if still claiming); an answer that comes after the connection gave up goes to {@code
   * abandoned}.
   */
  private <T> void whenAnswered(Party c, CompletionStage<T> answer, Consumer<T> then) {
    whenAnswered(c, answer, then, v -> { });
  }

  private <T> void whenAnswered(Party c, CompletionStage<T> answer, Consumer<T> then, Consumer<T> abandoned) {
    CompletableFuture<T> f = answer.toCompletableFuture();
    if (f.isDone() && !f.isCompletedExceptionally()) {
      then.accept(f.join());
      return;
    }
    if (!c.claiming()) {
      c.claim(); // a LOST login after a claimed resume is claimed already
    }
    f.whenComplete((v, err) -> c.execute(() -> {
      if (!c.claiming()) {
        if (v != null) {
          abandoned.accept(v);
        }
      } else if (err != null) {
        failed(c, err);
      } else {
        then.accept(v);
      }
    }));
  }

  private static void failed(Party c, Throwable err) {
    log.warn("{}: handshake failed on the server", c, err);
    c.refuse(ErrorCode.INTERNAL_ERROR, "handshake failed on the server");
  }

  /** In the HELLO's version: a version 2 client also learns the bounds of its heartbeat. */
  private Frame.Welcome welcome(Frame.Hello hello, Session s, SessionStatus status, long lastReceivedSeq,
      long lostMessages) {
    ServerConfig k = config;
    return new Frame.Welcome(hello.version(), s.id().toString(), status, lastReceivedSeq, lostMessages,
        (int) k.heartbeatInterval().toMillis(), k.heartbeatMisses(), k.maxFrameSize(),
        (int) k.backoffInitial().toMillis(), (int) k.backoffMax().toMillis(), (int) k.sessionRetention().toMillis(),
        (int) k.heartbeatMin().toMillis(), (int) k.heartbeatMax().toMillis());
  }
}
