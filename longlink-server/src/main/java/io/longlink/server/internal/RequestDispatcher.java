package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.longlink.server.RequestHandler;

/**
 * Requests (docs/PROTOCOL.md section 9): runs those for the gateway through the node's
 * {@link RequestHandler} on virtual threads, and forwards those for another client to its
 * connection, carrying the answer back. Tracks what is in flight per connection so a CANCEL or a
 * closed connection on either side stops it. The tables live here, keyed by connection, not in the
 * connection: an idle connection carries nothing for requests. Thread-safe.
 */
final class RequestDispatcher {
  private static final Logger log = LoggerFactory.getLogger(RequestDispatcher.class);

  /** A request passed on to another client under {@code id}, the gateway's number for it. */
  private record Forward(Connection origin, long originId, Connection target, long id, String targetId) {}

  private final RequestHandler handler;
  private final int maxInFlight;
  private final LongSupplier wallMillis;
  private final SessionStore store;
  /** Created on the first request: a node without requests starts no executor. */
  private volatile ExecutorService executor;
  /** Per asking connection: its request id -> the handler's Future or a {@link Forward}. */
  private final Map<Connection, Map<Long, Object>> inFlight = new ConcurrentHashMap<>();
  /** Forwarded requests by the gateway's id. */
  private final Map<Long, Forward> forwards = new ConcurrentHashMap<>();
  /** Per asked connection: the ids of the requests forwarded to it. */
  private final Map<Connection, Set<Long>> forwardedTo = new ConcurrentHashMap<>();
  private final AtomicLong nextForwardId = new AtomicLong();

  final LongAdder handled = new LongAdder();
  final LongAdder failed = new LongAdder();
  final LongAdder forwarded = new LongAdder();
  /** Dropped unprocessed because their deadline had passed (on arrival or before they started). */
  final LongAdder expired = new LongAdder();
  final LongAdder cancelled = new LongAdder();

  /**
   * @param handler {@code null}: requests for the gateway are answered NO_HANDLER
   * @param maxInFlight most requests one connection may have in flight at once
   */
  RequestDispatcher(RequestHandler handler, int maxInFlight, LongSupplier wallMillis, SessionStore store) {
    this.handler = handler;
    this.maxInFlight = maxInFlight;
    this.wallMillis = wallMillis;
    this.store = store;
  }

  /** A REQUEST arrived on {@code from}, holding {@code session}. Event loop of {@code from}. */
  void onRequest(Connection from, Session session, Frame.Request r) {
    if (r.target().isEmpty() && handler == null) {
      from.sendIfOpen(Frame.Response.failed(r.requestId(), ErrorCode.NO_HANDLER, "this gateway answers no requests"));
      return;
    }
    if (r.deadline() <= wallMillis.getAsLong()) {
      expired.increment(); // the client has given up already: no work, no answer
      return;
    }
    Map<Long, Object> mine = inFlight.computeIfAbsent(from, c -> new HashMap<>());
    synchronized (mine) {
      if (mine.containsKey(r.requestId())) {
        from.sendIfOpen(Frame.Response.failed(r.requestId(), ErrorCode.PROTOCOL_ERROR,
            "request id " + r.requestId() + " is already in flight on this connection"));
        return;
      }
      if (mine.size() >= maxInFlight) {
        from.sendIfOpen(Frame.Response.failed(r.requestId(), ErrorCode.LIMIT_EXCEEDED,
            "more than " + maxInFlight + " requests in flight on this connection"));
        return;
      }
      if (!r.target().isEmpty()) {
        forward(from, session, r, mine);
        return;
      }
      RequestHandler.Request request = new RequestHandler.Request(session.clientId(), session.id().toString(),
          r.requestId(), Instant.ofEpochMilli(r.deadline()), r.payload());
      try {
        mine.put(r.requestId(), executor().submit(() -> run(from, mine, request)));
      } catch (RejectedExecutionException e) {
        from.sendIfOpen(Frame.Response.failed(r.requestId(), ErrorCode.SERVER_SHUTDOWN, "node stopping"));
      }
    }
  }

  /** Passes a request on to the client it names. {@code mine}'s lock held. */
  private void forward(Connection from, Session session, Frame.Request r, Map<Long, Object> mine) {
    Session asked = store.get(r.target());
    Connection to = asked == null ? null : asked.connection();
    if (to == null) {
      from.sendIfOpen(Frame.Response.failed(r.requestId(), ErrorCode.UNREACHABLE,
          "client " + r.target() + " is not connected to this gateway"));
      return;
    }
    Forward fw = new Forward(from, r.requestId(), to, nextForwardId.incrementAndGet(), r.target());
    mine.put(r.requestId(), fw);
    forwards.put(fw.id(), fw);
    forwardedTo.computeIfAbsent(to, c -> ConcurrentHashMap.newKeySet()).add(fw.id());
    forwarded.increment();
    to.sendIfOpen(new Frame.Request(fw.id(), r.deadline(), "", session.clientId(), r.payload()));
  }

  /** An asked client answered on {@code from}. Any thread. */
  void onResponse(Connection from, Frame.Response r) {
    Forward fw = forwards.get(r.requestId());
    if (fw == null || fw.target() != from || !forwards.remove(r.requestId(), fw)) {
      return; // cancelled, or the asker left: nobody waits for it
    }
    Set<Long> ids = forwardedTo.get(from);
    if (ids != null) {
      ids.remove(fw.id());
    }
    if (settled(fw)) {
      fw.origin().sendIfOpen(new Frame.Response(fw.originId(), r.code(), r.rawCode(), r.message(), r.payload()));
    }
  }

  /** Removes a forward from its asker's table; false if the asker already gave up on it. */
  private boolean settled(Forward fw) {
    Map<Long, Object> mine = inFlight.get(fw.origin());
    if (mine == null) {
      return false;
    }
    synchronized (mine) {
      return mine.remove(fw.originId(), fw);
    }
  }

  private void run(Connection from, Map<Long, Object> mine, RequestHandler.Request request) {
    try {
      if (request.deadline().toEpochMilli() <= wallMillis.getAsLong()) {
        expired.increment(); // waited too long to start: processing it now would be late
        return;
      }
      if (Thread.currentThread().isInterrupted()) {
        return; // cancelled before it started
      }
      Frame.Response answer;
      try {
        answer = Frame.Response.ok(request.requestId(), handler.handle(request));
        handled.increment();
      } catch (InterruptedException e) {
        return; // cancelled or the connection went away: nobody to answer
      } catch (Exception | LinkageError e) {
        failed.increment();
        log.debug("{}: request {} failed", from, request.requestId(), e);
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        answer = Frame.Response.failed(request.requestId(), ErrorCode.REQUEST_FAILED, why);
      }
      if (!Thread.currentThread().isInterrupted()) {
        from.sendIfOpen(answer);
      }
    } finally {
      synchronized (mine) {
        mine.remove(request.requestId());
      }
    }
  }

  /** The asker gave up on a request: stop it, or tell the asked client to drop it. */
  void cancel(Connection from, long requestId) {
    Map<Long, Object> mine = inFlight.get(from);
    if (mine == null) {
      return;
    }
    Object what;
    synchronized (mine) {
      what = mine.remove(requestId);
    }
    stop(what);
  }

  private void stop(Object what) {
    if (what instanceof Future<?> f) {
      if (f.cancel(true)) {
        cancelled.increment();
      }
    } else if (what instanceof Forward fw && forwards.remove(fw.id(), fw)) {
      Set<Long> ids = forwardedTo.get(fw.target());
      if (ids != null) {
        ids.remove(fw.id());
      }
      cancelled.increment();
      fw.target().sendIfOpen(new Frame.Cancel(fw.id()));
    }
  }

  /**
   * The connection closed: stop what it asked for, and answer UNREACHABLE to whoever still waits
   * for an answer from it.
   */
  void release(Connection conn) {
    Map<Long, Object> mine = inFlight.remove(conn);
    if (mine != null) {
      Object[] all;
      synchronized (mine) {
        all = mine.values().toArray();
        mine.clear();
      }
      for (Object what : all) {
        stop(what);
      }
    }
    Set<Long> asked = forwardedTo.remove(conn);
    if (asked != null) {
      for (long id : asked) {
        Forward fw = forwards.remove(id);
        if (fw != null && settled(fw)) {
          fw.origin().sendIfOpen(Frame.Response.failed(fw.originId(), ErrorCode.UNREACHABLE,
              "client " + fw.targetId() + " disconnected before answering"));
        }
      }
    }
  }

  /** Requests being processed or forwarded, over all connections. */
  int inFlightCount() {
    int n = 0;
    for (Map<Long, Object> m : inFlight.values()) {
      synchronized (m) {
        n += m.size();
      }
    }
    return n;
  }

  /** Forwarded requests awaiting an answer. */
  int forwardsPending() {
    return forwards.size();
  }

  void close() {
    ExecutorService e = executor;
    if (e != null) {
      e.shutdownNow();
    }
  }

  private ExecutorService executor() {
    ExecutorService e = executor;
    if (e == null) {
      synchronized (this) {
        e = executor;
        if (e == null) {
          e = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("longlink-request-", 0).factory());
          executor = e;
        }
      }
    }
    return e;
  }
}
