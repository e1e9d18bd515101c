package io.longlink.client;

import io.longlink.protocol.Frame;
import io.longlink.protocol.SeqBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * This client's sequenced frames that the server has not acknowledged: sent, or queued while
 * disconnected. Kept for replay after a resume; renumbered into a fresh session after a loss.
 * Bounded in frames and bytes. Confined to the client's event loop.
 */
final class Outbox {
  /** One queued frame and whoever waits for its acknowledgement. */
  static final class Pending {
    final Frame frame;
    final CompletableFuture<Void> done;
    final int size;
    /** Whether a blocked sender's permit must be returned when this leaves the outbox. */
    final boolean holdsPermit;

    Pending(Frame frame, CompletableFuture<Void> done, int size, boolean holdsPermit) {
      this.frame = frame;
      this.done = done;
      this.size = size;
      this.holdsPermit = holdsPermit;
    }

    long seq() {
      return ((Frame.Sequenced) frame).seq();
    }
  }

  private final int maxFrames;
  private final long maxBytes;
  private SeqBuffer<Pending> buffer;
  private long nextSeq = 1;
  /** Highest seq ever written to a connection in this session. */
  private long maxWritten;

  Outbox(int maxFrames, long maxBytes) {
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
    this.buffer = new SeqBuffer<>(maxFrames, maxBytes);
  }

  boolean fits(int size) {
    return buffer.fits(size);
  }

  long nextSeq() {
    return nextSeq;
  }

  /** Queues a frame numbered {@link #nextSeq()}; the caller checked {@link #fits}. */
  void add(Frame frame, CompletableFuture<Void> done, int size, boolean holdsPermit) {
    long seq = ((Frame.Sequenced) frame).seq();
    buffer.add(seq, new Pending(frame, done, size, holdsPermit), size);
    nextSeq = seq + 1;
  }

  /** The frame after {@code seq}, or {@code null}. */
  Pending after(long seq) {
    return buffer.after(seq);
  }

  /** The queued frame numbered {@code seq}, or {@code null}. */
  Pending pending(long seq) {
    return buffer.get(seq);
  }

  void written(long seq) {
    maxWritten = Math.max(maxWritten, seq);
  }

  /** Completes everything up to {@code seq}; false if {@code seq} was never sent. */
  boolean acknowledged(long seq, Consumer<Pending> done) {
    if (seq >= nextSeq) {
      return false;
    }
    buffer.removeUpTo(seq, done);
    return true;
  }

  /** Highest seq handed out so far (0 if none). */
  long lastSeq() {
    return nextSeq - 1;
  }

  int size() {
    return buffer.size();
  }

  /**
   * The session was lost: frames that went out are failed through {@code unconfirmed}; frames never
   * written are renumbered from 1 (after {@code first}, e.g. re-subscriptions) into the new session;
   * frames that no longer fit go to {@code unconfirmed} too.
   *
   * @return how many went out unconfirmed
   */
  int restartSession(List<Frame> first, Consumer<Pending> unconfirmed) {
    List<Pending> keep = new ArrayList<>();
    int[] failed = {0};
    buffer.clear(p -> {
      if (p.seq() <= maxWritten) {
        failed[0]++;
        unconfirmed.accept(p);
      } else {
        keep.add(p);
      }
    });
    buffer = new SeqBuffer<>(maxFrames, maxBytes);
    nextSeq = 1;
    maxWritten = 0;
    for (Frame f : first) {
      Frame numbered = renumber(f, nextSeq);
      int size = LonglinkClient.sizeOf(numbered);
      if (buffer.fits(size)) {
        add(numbered, new CompletableFuture<>(), size, false);
      }
    }
    for (Pending p : keep) {
      if (buffer.fits(p.size)) {
        add(renumber(p.frame, nextSeq), p.done, p.size, p.holdsPermit);
      } else {
        unconfirmed.accept(p);
      }
    }
    return failed[0];
  }

  /** Drops everything, handing each to {@code dropped}. */
  void clear(Consumer<Pending> dropped) {
    buffer.clear(dropped);
  }

  static Frame renumber(Frame f, long seq) {
    if (f instanceof Frame.Data) {
      Frame.Data d = (Frame.Data) f;
      return new Frame.Data(seq, d.targetKind(), d.target(), d.from(), d.payload());
    }
    if (f instanceof Frame.Subscribe) {
      return new Frame.Subscribe(seq, ((Frame.Subscribe) f).topic());
    }
    if (f instanceof Frame.Unsubscribe) {
      return new Frame.Unsubscribe(seq, ((Frame.Unsubscribe) f).topic());
    }
    throw new IllegalArgumentException("not a sequenced frame: " + f);
  }
}
