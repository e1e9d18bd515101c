package io.longlink.server.internal;

import io.longlink.protocol.Ticker;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Decides when an event loop's connections write what their sessions have buffered: at once while
 * the loop writes to few connections, or gathered into one pass every {@code delay} while it writes
 * to many (a topic fanned out to thousands of subscribers).
 *
 * <p>Why: on loopback and in virtual machines most of the cost of a delivery is the kernel's, per
 * write and per packet, not per byte. A thousand subscribers each sent one message a millisecond
 * cost a million writes a second; gathered for a few milliseconds they cost a few hundred thousand
 * with the same bytes, and the latency this adds is bounded by {@code delay}. A loop that is
 * writing to one or two connections (a one-to-one flow, a request) never waits.
 *
 * <p>"Many": at least {@link #BUSY_WRITES} different connections written within {@code delay} (one
 * connection written ten thousand times a second is one connection: a one-to-one flow never waits).
 * The loop then keeps gathering while each pass still writes to that many connections, and returns
 * to writing at once after a pass that does not.
 *
 * <p>A pass writes {@link #WRITES_PER_TURN} connections per turn of the loop and lets the loop read
 * and run its other tasks in between: writing to thousands of connections takes milliseconds
 * (each write is a system call), and for that long nothing else on the loop would move -- not the
 * publisher whose next message is waiting, nor a one-to-one flow or a heartbeat on the same loop.
 * The next pass is still one delay after the end of this one, so a pass costs what it did.
 *
 * <p>Confined to its event loop.
 */
final class WriteCoalescer implements Runnable {
  /** Different connections written within one delay that make a loop busy. */
  static final int BUSY_WRITES = 64;
  /** Connections a pass writes before the loop gets a turn to read and run its other tasks. */
  static final int WRITES_PER_TURN = 64;

  /** A connection with something to write. */
  interface Writer {
    /** Writes what it has; called by the pass it waited for. */
    void writeNow();
  }

  private final EventExecutor loop;
  private final Ticker ticker;
  private final long delayNanos;
  private final LongAdder coalesced;
  private final ArrayDeque<Writer> waiting = new ArrayDeque<>();
  /**
   * The different connections written since {@code windowStartNanos}, while not gathering: an
   * open-addressing identity set, at most half full.
   */
  private final Writer[] seen = new Writer[2 * BUSY_WRITES];
  private int distinct;
  private long windowStartNanos;
  private boolean gathering;
  /** A pass is scheduled or under way: what arrives waits for the pass after it. */
  private boolean passScheduled;
  /** Connections of the pass under way; those of them not yet written. */
  private int passSize;
  private int passLeft;

  /**
   * @param delayNanos how often a busy loop writes (zero: always at once)
   * @param coalesced counts the writes that waited for a pass
   */
  WriteCoalescer(EventExecutor loop, Ticker ticker, long delayNanos, LongAdder coalesced) {
    this.loop = loop;
    this.ticker = ticker;
    this.delayNanos = delayNanos;
    this.coalesced = coalesced;
    this.windowStartNanos = ticker.nanoTime();
  }

  /**
   * {@code w} has something to write: true if it should write now, false if it waits for the next
   * pass (which calls {@link Writer#writeNow}).
   */
  boolean writeNow(Writer w) {
    if (delayNanos == 0) {
      return true;
    }
    if (!gathering) {
      if (!remember(w) || distinct < BUSY_WRITES) {
        return true;
      }
      long now = ticker.nanoTime();
      boolean busy = now - windowStartNanos < delayNanos;
      newWindow(now);
      if (!busy) {
        return true;
      }
      gathering = true;
    }
    waiting.add(w);
    if (!passScheduled) {
      passScheduled = true;
      schedule(delayNanos);
    }
    return false;
  }

  /**
   * A turn of the pass: the connections that were waiting when it began write, {@link
   * #WRITES_PER_TURN} per turn; still busy at its end, the next pass is one delay away.
   */
  @Override
  public void run() {
    if (passLeft == 0) { // a pass begins: what arrives from now on waits for the next one
      passSize = passLeft = waiting.size();
      coalesced.add(passSize);
    }
    for (int i = Math.min(passLeft, WRITES_PER_TURN); i > 0; i--) {
      passLeft--;
      waiting.poll().writeNow();
    }
    if (passLeft > 0) {
      schedule(0); // after the loop's next reads, not before them
      return;
    }
    if (passSize >= BUSY_WRITES) {
      gathering = true; // what arrives until the next pass waits for it
    } else {
      gathering = false;
      newWindow(ticker.nanoTime());
    }
    passScheduled = !waiting.isEmpty(); // arrived during the pass
    if (passScheduled) {
      schedule(delayNanos);
    }
  }

  private void schedule(long delay) {
    try {
      loop.schedule(this, delay, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // The loop is shutting down; its connections go with it.
    }
  }

  /** Adds {@code w} to this window's connections; false if it is there already. */
  private boolean remember(Writer w) {
    int mask = seen.length - 1;
    int i = (System.identityHashCode(w) * 0x9E3779B9) >>> 25 & mask;
    for (Writer s; (s = seen[i]) != null; i = (i + 1) & mask) {
      if (s == w) {
        return false;
      }
    }
    seen[i] = w;
    distinct++;
    return true;
  }

  private void newWindow(long now) {
    Arrays.fill(seen, null);
    distinct = 0;
    windowStartNanos = now;
  }

  /** Connections waiting for the next pass. */
  int waiting() {
    return waiting.size();
  }
}
