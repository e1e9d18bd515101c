package io.longlink.protocol;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The unacknowledged sequenced frames of one direction (docs/PROTOCOL.md section 5), in sequence
 * order: appended with consecutive numbers, looked up by number, dropped by a cumulative ack.
 * A ring buffer allocated on first use and released when emptied, so an idle session holds none.
 * Bounded in entries and bytes; the caller checks {@link #fits} before {@link #add}.
 *
 * <p>Not thread-safe: the owner serialises access.
 *
 * @param <T> what is kept per sequence number
 */
public final class SeqBuffer<T> {
  private final int maxEntries;
  private final long maxBytes;
  private Object[] items;
  private int[] sizes;
  private int head;
  private int count;
  private long bytes;
  /** Sequence number of the entry at {@code head}, when not empty. */
  private long firstSeq;

  /**
   * @param maxEntries most entries kept (>= 1)
   * @param maxBytes most bytes kept, as the sizes given to {@link #add} sum up (>= 1)
   */
  public SeqBuffer(int maxEntries, long maxBytes) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries: " + maxEntries + " (expected: >= 1)");
    }
    if (maxBytes < 1) {
      throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: >= 1)");
    }
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  /** Whether an entry of {@code size} bytes can be added without passing a bound. */
  public boolean fits(int size) {
    return count < maxEntries && bytes + size <= maxBytes;
  }

  /**
   * Appends {@code item} under {@code seq}, which must follow the last entry's number (any number
   * when empty).
   *
   * @throws IllegalStateException if full or {@code seq} is not the next number
   */
  public void add(long seq, T item, int size) {
    if (!fits(size)) {
      throw new IllegalStateException("buffer full: " + count + " entries, " + bytes + " bytes (max " + maxEntries
          + ", " + maxBytes + "); check fits() first");
    }
    if (count > 0 && seq != lastSeq() + 1) {
      throw new IllegalStateException("seq " + seq + " (expected: " + (lastSeq() + 1) + ")");
    }
    if (items == null) {
      items = new Object[Math.min(8, capacityFor(maxEntries))];
      sizes = new int[items.length];
    } else if (count == items.length) {
      grow();
    }
    if (count == 0) {
      firstSeq = seq;
      head = 0;
    }
    int i = (head + count) & (items.length - 1);
    items[i] = item;
    sizes[i] = size;
    count++;
    bytes += size;
  }

  /** The entry numbered {@code seq}, or {@code null} if not kept. */
  @SuppressWarnings("unchecked")
  public T get(long seq) {
    if (count == 0 || seq < firstSeq || seq > lastSeq()) {
      return null;
    }
    return (T) items[(int) ((head + (seq - firstSeq)) & (items.length - 1))];
  }

  /**
   * The oldest entry numbered after {@code seq}, or {@code null}: what a sender writes next when the
   * peer has everything up to {@code seq}.
   */
  public T after(long seq) {
    return count == 0 ? null : get(Math.max(seq + 1, firstSeq));
  }

  /**
   * Drops every entry numbered {@code <= seq}, oldest first, handing each to {@code dropped}.
   *
   * @return how many were dropped
   */
  @SuppressWarnings("unchecked")
  public int removeUpTo(long seq, Consumer<? super T> dropped) {
    int n = 0;
    while (count > 0 && firstSeq <= seq) {
      T item = (T) items[head];
      bytes -= sizes[head];
      items[head] = null;
      head = (head + 1) & (items.length - 1);
      count--;
      firstSeq++;
      n++;
      if (dropped != null) {
        dropped.accept(item);
      }
    }
    if (count == 0) {
      head = 0; // the arrays stay for the next burst; whoever holds an idle buffer drops it whole
    }
    return n;
  }

  /** Drops everything, handing each entry to {@code dropped} (may be {@code null}). */
  public int clear(Consumer<? super T> dropped) {
    return count == 0 ? 0 : removeUpTo(lastSeq(), dropped);
  }

  public boolean isEmpty() {
    return count == 0;
  }

  public int size() {
    return count;
  }

  public long bytes() {
    return bytes;
  }

  /** Number of the oldest entry; meaningless when empty. */
  public long firstSeq() {
    return firstSeq;
  }

  /** Number of the newest entry; meaningless when empty. */
  public long lastSeq() {
    return firstSeq + count - 1;
  }

  /** Arrays are sized in powers of two (indexes by mask, not division); at most the next one above {@code n}. */
  private static int capacityFor(int n) {
    return n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
  }

  private void grow() {
    int capacity = Math.min(items.length * 2, capacityFor(maxEntries));
    Object[] newItems = new Object[capacity];
    int[] newSizes = new int[capacity];
    for (int k = 0; k < count; k++) {
      int i = (head + k) & (items.length - 1);
      newItems[k] = items[i];
      newSizes[k] = sizes[i];
    }
    items = newItems;
    sizes = newSizes;
    head = 0;
    Arrays.fill(items, count, capacity, null);
  }
}
