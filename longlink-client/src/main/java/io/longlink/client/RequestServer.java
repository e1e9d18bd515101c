package io.longlink.client;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Answers the requests other clients send to this one (docs/PROTOCOL.md section 9) with the
 * application's {@link ClientRequestHandler}, off the I/O thread. The table of requests being
 * answered is confined to the client's event loop; answers come back to it to be written.
 */
final class RequestServer {
  private final ClientRequestHandler handler;
  private final Executor given;
  private final LongSupplier wallMillis;
  /** Our own threads when the application gave no executor; created on the first request. */
  private ExecutorService own;
  private final Map<Long, FutureTask<Frame.Response>> answering = new HashMap<>();

  RequestServer(ClientRequestHandler handler, Executor executor, LongSupplier wallMillis) {
    this.handler = handler;
    this.given = executor;
    this.wallMillis = wallMillis;
  }

  /**
   * A request arrived. {@code answer} writes a response on the connection it came on (and only
   * there); {@code onLoop} runs a task on the client's event loop.
   */
  void onRequest(Frame.Request r, Consumer<Frame.Response> answer, Consumer<Runnable> onLoop) {
    if (handler == null) {
      answer.accept(Frame.Response.failed(r.requestId(), ErrorCode.NO_HANDLER, "this client answers no requests"));
      return;
    }
    if (r.deadline() <= wallMillis.getAsLong() || answering.containsKey(r.requestId())) {
      return; // the asker has given up already (or the gateway repeated an id): no work
    }
    ClientRequestHandler.IncomingRequest in =
        new ClientRequestHandler.IncomingRequest(r.from(), Instant.ofEpochMilli(r.deadline()), r.payload());
    FutureTask<Frame.Response> task = new FutureTask<>(() -> {
      Frame.Response out;
      try {
        out = Frame.Response.ok(r.requestId(), handler.handle(in));
      } catch (InterruptedException e) {
        throw e; // cancelled: nobody waits for it
      } catch (Exception e) {
        out = Frame.Response.failed(r.requestId(), ErrorCode.REQUEST_FAILED,
            e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
      }
      return out;
    }) {
      @Override
      protected void done() {
        if (!isCancelled()) {
          onLoop.accept(() -> {
            if (answering.remove(r.requestId(), this)) {
              try {
                answer.accept(get());
              } catch (Exception e) {
                // interrupted handler: no answer
              }
            }
          });
        }
      }
    };
    answering.put(r.requestId(), task);
    try {
      executor().execute(task);
    } catch (RejectedExecutionException e) {
      answering.remove(r.requestId());
      answer.accept(Frame.Response.failed(r.requestId(), ErrorCode.REQUEST_FAILED, "client shutting down"));
    }
  }

  /** The asker gave up: stop the handler. */
  void cancel(long requestId) {
    FutureTask<Frame.Response> t = answering.remove(requestId);
    if (t != null) {
      t.cancel(true);
    }
  }

  /** The connection broke: no answer can reach the askers any more. */
  void connectionLost() {
    List<FutureTask<Frame.Response>> all = new ArrayList<>(answering.values());
    answering.clear();
    all.forEach(t -> t.cancel(true));
  }

  void close() {
    connectionLost();
    if (own != null) {
      own.shutdownNow();
    }
  }

  private Executor executor() {
    if (given != null) {
      return given;
    }
    if (own == null) {
      own = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "longlink-client-requests");
        t.setDaemon(true);
        return t;
      });
    }
    return own;
  }
}
