package io.longlink.server.internal;

import io.longlink.server.NodeStats;
import io.longlink.server.ServerConfig;
import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The one liveness timer of an event loop. Every connection on the loop has a deadline (end of
 * handshake time, or last traffic + heartbeat window); a periodic sweep closes those past it. One
 * scheduled task per event loop instead of one per connection is what lets a node hold a million
 * idle connections.
 *
 * <p>A sweep visits {@link #CONNECTIONS_PER_TURN} connections per turn of the loop and lets the loop
 * read and run its other tasks in between: on a loop with half a million connections one pass
 * takes tens of milliseconds, which in one go would stall every connection on it.
 *
 * <p>Confined to its event loop: every method must be called from it.
 */
final class LivenessSweeper<C extends LivenessSweeper.Supervised> {
  /** What the sweeper asks of a connection it supervises. Event loop only. */
  interface Supervised {
    /** When it expires unless something arrives. */
    long deadlineNanos();

    /** Its slot in the sweeper's array; -1 when not supervised. Kept by the sweeper. */
    int sweepIndex();

    void sweepIndex(int index);

    /** Once a second, before the rate window turns: gives back what an idle connection need not keep. */
    void releaseIdle();

    /** A new one-second window of the inbound rate limits. */
    void newRateWindow();

    /** Its deadline passed; it was taken off the sweeper first. */
    void deadlineExpired();

    /** Sends a PING stamped with the node's clock, to sample the round trip. */
    void samplePing();

    /** Closes it at once (node shutdown). */
    void close();
  }

  private final EventExecutor loop;
  private final ServerConfig config;
  private Object[] connections = new Object[64];
  private int size;
  /**
   * Sweeps that only checked deadlines and their total duration, then those that also turned the
   * one-second window (giving back what idle connections need not keep): for {@link
   * NodeStats#livenessSweeps()}. Written by the loop only.
   */
  private volatile long sweeps;
  private volatile long sweepNanos;
  private volatile long windowSweeps;
  private volatile long windowSweepNanos;
  /** Start of the current one-second window of the inbound rate limits. */
  private long rateWindowStartNanos = Long.MIN_VALUE;
  /** Connections visited per turn of the loop. */
  static final int CONNECTIONS_PER_TURN = 8_192;
  private final int perTurn;
  /** The pass under way: it visits the connections below {@code passCursor}, downwards; 0 when none is. */
  private int passCursor;
  private long passNowNanos;
  private boolean passTurnsWindow;
  /** Sampled RTT pings owed (fractional), and where the round-robin over connections stands. */
  private double pingBudget;
  private int pingCursor;
  /** Most sampled pings per sweep and loop: on a big node the RTT histogram needs a sample, not everyone. */
  static final int MAX_PINGS_PER_SWEEP = 16;
  static final int PING_EVERY_INTERVALS = 4;

  LivenessSweeper(EventExecutor loop, ServerConfig config) {
    this(loop, config, CONNECTIONS_PER_TURN);
  }

  LivenessSweeper(EventExecutor loop, ServerConfig config, int perTurn) {
    this.loop = loop;
    this.config = config;
    this.perTurn = perTurn;
  }

  @SuppressWarnings("unchecked") // only Cs are stored
  private C at(int i) {
    return (C) connections[i];
  }

  void add(C c) {
    assert loop.inEventLoop();
    if (size == connections.length) {
      connections = java.util.Arrays.copyOf(connections, size * 2);
    }
    c.sweepIndex(size);
    connections[size++] = c;
  }

  void remove(C c) {
    assert loop.inEventLoop();
    int i = c.sweepIndex();
    if (i < 0) {
      return;
    }
    C last = at(--size);
    connections[i] = last;
    last.sweepIndex(i);
    connections[size] = null;
    c.sweepIndex(-1);
    if (connections.length > 1024 && size < connections.length / 4) {
      connections = java.util.Arrays.copyOf(connections, connections.length / 2);
    }
  }

  /**
   * Starts a pass that expires every connection whose deadline is at or before {@code nowNanos}
   * (and once a second turns the rate window), and runs its first turn; the rest follow as tasks
   * after the loop's next reads. Does nothing while the pass before is still under way.
   *
   * @return how many expired in this first turn (all of them, when the loop has at most {@link
   *     #CONNECTIONS_PER_TURN} connections)
   */
  int sweep(long nowNanos) {
    assert loop.inEventLoop();
    if (passCursor > 0) {
      return 0;
    }
    passTurnsWindow = rateWindowStartNanos == Long.MIN_VALUE || nowNanos - rateWindowStartNanos >= 1_000_000_000L;
    if (passTurnsWindow) {
      rateWindowStartNanos = nowNanos;
    }
    passNowNanos = nowNanos;
    passCursor = size;
    return turn();
  }

  /** One turn of the pass: up to {@link #perTurn} connections, downwards. */
  private int turn() {
    long start = System.nanoTime(); // a measurement, not a deadline: the real clock
    int expired = 0;
    // Connections removed since the last turn moved the last ones down; those added wait for the next pass.
    int from = Math.min(passCursor, size);
    int end = Math.max(0, from - perTurn);
    // Downwards: an expiring connection removes itself, swapping in one already visited.
    for (int i = from - 1; i >= end; i--) {
      C c = at(i);
      if (passTurnsWindow) {
        c.releaseIdle(); // first: it asks whether anything arrived in the window that ends here
        c.newRateWindow();
      }
      if (passNowNanos - c.deadlineNanos() >= 0) {
        remove(c);
        c.deadlineExpired();
        expired++;
      }
    }
    passCursor = end;
    if (end == 0) {
      samplePings();
    }
    long took = System.nanoTime() - start;
    if (passTurnsWindow) {
      windowSweepNanos += took;
      windowSweeps += end == 0 ? 1 : 0;
    } else {
      sweepNanos += took;
      sweeps += end == 0 ? 1 : 0;
    }
    if (end > 0) {
      try {
        loop.schedule(this::turn, 0, TimeUnit.NANOSECONDS); // after the loop's next reads, not before them
      } catch (RejectedExecutionException e) {
        passCursor = 0; // the node is shutting down
      }
    }
    return expired;
  }

  /**
   * Pings some connections to measure round trips: on average each connection once every
   * {@link #PING_EVERY_INTERVALS} heartbeat intervals (a quarter of what a client's own heartbeat
   * costs), at most {@link #MAX_PINGS_PER_SWEEP} per sweep.
   */
  private void samplePings() {
    if (size == 0) {
      return;
    }
    pingBudget = Math.min(MAX_PINGS_PER_SWEEP,
        pingBudget + size * (double) config.sweepInterval().toNanos()
            / (PING_EVERY_INTERVALS * (double) config.heartbeatInterval().toNanos()));
    for (int n = (int) pingBudget; n > 0; n--) {
      pingCursor = pingCursor >= size - 1 ? 0 : pingCursor + 1;
      at(pingCursor).samplePing();
      pingBudget--;
    }
  }

  /** This loop's sweep totals so far (finished passes), {@code fewestWindowTurns} being its own count. */
  NodeStats.SweepTotals livenessTotals() {
    return new NodeStats.SweepTotals(sweeps, sweepNanos, windowSweeps, windowSweepNanos, windowSweeps);
  }

  int size() {
    return size;
  }

  /** The connections on this loop, copied. */
  java.util.List<C> snapshot() {
    assert loop.inEventLoop();
    java.util.List<C> all = new java.util.ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      all.add(at(i));
    }
    return all;
  }

  /** Closes every connection on this loop (they leave the sweeper as their channels go inactive). */
  void closeAll() {
    assert loop.inEventLoop();
    for (C c : snapshot()) {
      c.close();
    }
  }
}
