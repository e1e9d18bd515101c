package io.longlink.client;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.Frame;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A client's requests awaiting an answer (docs/PROTOCOL.md section 9). Requests are not sequenced:
 * one that was written dies with its connection; one made while the client is reconnecting waits
 * for the next connection, up to its deadline. Confined to the client's event loop.
 */
final class Requests {
  /** One request; {@code written}: it went out on the current connection. */
  static final class Pending {
    final long id;
    final Frame.Request frame;
    final CompletableFuture<byte[]> future;
    boolean written;
    io.netty.util.concurrent.ScheduledFuture<?> timer;

    Pending(long id, Frame.Request frame, CompletableFuture<byte[]> future) {
      this.id = id;
      this.frame = frame;
      this.future = future;
    }
  }

  private final Map<Long, Pending> pending = new HashMap<>();
  private long nextId = 1;
  /** Answers that came after their request timed out or was cancelled. */
  private volatile long late;

  Pending add(long deadlineMillis, String target, byte[] payload, CompletableFuture<byte[]> future) {
    long id = nextId++;
    Pending p = new Pending(id, new Frame.Request(id, deadlineMillis, target, "", payload), future);
    pending.put(id, p);
    return p;
  }

  /** Requests not yet written on the current connection, oldest first. */
  List<Pending> unwritten() {
    List<Pending> out = new ArrayList<>();
    for (Pending p : pending.values()) {
      if (!p.written) {
        out.add(p);
      }
    }
    out.sort((a, b) -> Long.compare(a.id, b.id));
    return out;
  }

  /** Completes the request {@code r} answers; an answer to nothing pending is late: counted, dropped. */
  void answered(Frame.Response r) {
    Pending p = pending.remove(r.requestId());
    if (p == null) {
      late++;
      return;
    }
    cancelTimer(p);
    if (r.code() == ErrorCode.NORMAL) {
      p.future.complete(r.payload());
    } else {
      p.future.completeExceptionally(new LonglinkException(r.code(), r.message()));
    }
  }

  /**
   * Forgets a request that timed out or was cancelled.
   *
   * @return whether it was still pending (and had been written: the caller sends CANCEL)
   */
  Pending remove(long id) {
    Pending p = pending.remove(id);
    if (p != null) {
      cancelTimer(p);
    }
    return p;
  }

  /** The connection broke: requests written on it can no longer be answered. */
  void connectionLost(Throwable cause) {
    for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
      Pending p = it.next();
      if (p.written) {
        it.remove();
        cancelTimer(p);
        p.future.completeExceptionally(new ConnectionLostException("connection lost after request " + p.id
            + " was sent; it may or may not have been processed", cause));
      }
    }
  }

  /** The client stopped for good: every request fails with {@code failure}. */
  void failAll(Throwable failure) {
    List<Pending> all = new ArrayList<>(pending.values());
    pending.clear();
    for (Pending p : all) {
      cancelTimer(p);
      p.future.completeExceptionally(failure);
    }
  }

  int size() {
    return pending.size();
  }

  long late() {
    return late;
  }

  private static void cancelTimer(Pending p) {
    if (p.timer != null) {
      p.timer.cancel(false);
      p.timer = null;
    }
  }
}
