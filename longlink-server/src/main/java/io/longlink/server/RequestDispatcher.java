package io.longlink.server;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs clients' requests through the node's {@link RequestHandler} on virtual threads and tracks
 * those in flight per connection, so a CANCEL or a closed connection can stop them. The in-flight
 * table lives here, keyed by connection, not in the connection: an idle connection carries nothing
 * for requests. Thread-safe.
 */
final class RequestDispatcher {
  private static final Logger log = LoggerFactory.getLogger(RequestDispatcher.class);

  private final RequestHandler handler;
  private final int maxInFlight;
  private final LongSupplier wallMillis;
  /** Created on the first request: a node without requests starts no executor. */
  private volatile ExecutorService executor;
  private final Map<ServerConnection, Map<Long, Future<?>>> inFlight = new ConcurrentHashMap<>();

  final LongAdder handled = new LongAdder();
  final LongAdder failed = new LongAdder();
  /** Dropped unprocessed because their deadline had passed (on arrival or before they started). */
  final LongAdder expired = new LongAdder();
  final LongAdder cancelled = new LongAdder();

  /**
   * @param handler {@code null}: every request is answered NO_HANDLER
   * @param maxInFlight most requests of one connection being processed at once
   */
  RequestDispatcher(RequestHandler handler, int maxInFlight, LongSupplier wallMillis) {
    this.handler = handler;
    this.maxInFlight = maxInFlight;
    this.wallMillis = wallMillis;
  }

  /** A REQUEST arrived on {@code from}, holding {@code session}. Event loop of {@code from}. */
  void onRequest(ServerConnection from, Session session, Frame.Request r) {
    if (handler == null) {
      from.respond(Frame.Response.failed(r.requestId(), ErrorCode.NO_HANDLER, "this gateway answers no requests"));
      return;
    }
    if (r.deadline() <= wallMillis.getAsLong()) {
      expired.increment(); // the client has given up already: no work, no answer
      return;
    }
    Map<Long, Future<?>> mine = inFlight.computeIfAbsent(from, c -> new HashMap<>());
    synchronized (mine) {
      if (mine.containsKey(r.requestId())) {
        from.respond(Frame.Response.failed(r.requestId(), ErrorCode.PROTOCOL_ERROR,
            "request id " + r.requestId() + " is already in flight on this connection"));
        return;
      }
      if (mine.size() >= maxInFlight) {
        from.respond(Frame.Response.failed(r.requestId(), ErrorCode.LIMIT_EXCEEDED,
            "more than " + maxInFlight + " requests in flight on this connection"));
        return;
      }
      RequestHandler.Request request = new RequestHandler.Request(session.clientId, session.id().toString(),
          r.requestId(), Instant.ofEpochMilli(r.deadline()), r.payload());
      try {
        mine.put(r.requestId(), executor().submit(() -> run(from, mine, request)));
      } catch (RejectedExecutionException e) {
        from.respond(Frame.Response.failed(r.requestId(), ErrorCode.SERVER_SHUTDOWN, "node stopping"));
      }
    }
  }

  private void run(ServerConnection from, Map<Long, Future<?>> mine, RequestHandler.Request request) {
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
        from.respond(answer);
      }
    } finally {
      synchronized (mine) {
        mine.remove(request.requestId());
      }
    }
  }

  /** The client gave up on a request: stop it if it has not finished. */
  void cancel(ServerConnection from, long requestId) {
    Map<Long, Future<?>> mine = inFlight.get(from);
    if (mine == null) {
      return;
    }
    Future<?> f;
    synchronized (mine) {
      f = mine.remove(requestId);
    }
    if (f != null && f.cancel(true)) {
      cancelled.increment();
    }
  }

  /** The connection closed: stop whatever it still had in flight. */
  void release(ServerConnection from) {
    Map<Long, Future<?>> mine = inFlight.remove(from);
    if (mine == null) {
      return;
    }
    synchronized (mine) {
      for (Future<?> f : mine.values()) {
        if (f.cancel(true)) {
          cancelled.increment();
        }
      }
      mine.clear();
    }
  }

  /** Requests being processed, over all connections. */
  int inFlightCount() {
    int n = 0;
    for (Map<Long, Future<?>> m : inFlight.values()) {
      synchronized (m) {
        n += m.size();
      }
    }
    return n;
  }

  /** Connections with an in-flight table (emptied ones stay until their connection closes). */
  int trackedConnections() {
    return inFlight.size();
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
