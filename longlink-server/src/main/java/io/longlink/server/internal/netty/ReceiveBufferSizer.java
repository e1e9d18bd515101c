package io.longlink.server.internal.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Sizes receive buffers like Netty's adaptive allocator (grow at once when a read fills the
 * buffer, shrink after two reads in a row that would have fit in half), in power-of-two steps
 * from 64 B to 64 KiB. Why not the stock one: its per-channel handle is three objects (~110 B)
 * on every idle connection; this handle is one object of 32 B. Same read-loop rules as Netty's
 * {@code MaxMessageHandle}: stop when auto-read is off, when the last read did not fill its
 * buffer, after {@value #MAX_READS_PER_LOOP} reads, or when nothing was read.
 */
public final class ReceiveBufferSizer implements RecvByteBufAllocator {
  static final int MIN_SHIFT = 6;
  static final int MAX_SHIFT = 16;
  static final int INITIAL_SHIFT = 11;
  static final int MAX_READS_PER_LOOP = 16;

  @Override
  public Handle newHandle() {
    return new Handle();
  }

  /** One channel's sizing and read-loop state. Event loop only. */
  static final class Handle implements RecvByteBufAllocator.ExtendedHandle, UncheckedBooleanSupplier {
    private ChannelConfig config;
    private int reads;
    private int totalBytes;
    private int attemptedBytes;
    private int lastBytes;
    private byte shift = INITIAL_SHIFT;
    /** The previous read loop was small enough to shrink; shrink if this one is too. */
    private boolean shrinkNext;

    @Override
    public ByteBuf allocate(ByteBufAllocator alloc) {
      return alloc.ioBuffer(guess());
    }

    @Override
    public int guess() {
      return 1 << shift;
    }

    @Override
    public void reset(ChannelConfig config) {
      this.config = config;
      reads = 0;
      totalBytes = 0;
    }

    @Override
    public void incMessagesRead(int numMessages) {
      reads += numMessages;
    }

    @Override
    public void lastBytesRead(int bytes) {
      lastBytes = bytes;
      if (bytes > 0) {
        totalBytes += bytes;
        if (bytes == attemptedBytes && shift < MAX_SHIFT) {
          shift++; // filled the buffer: more is probably waiting
          shrinkNext = false;
        }
      }
    }

    @Override
    public int lastBytesRead() {
      return lastBytes;
    }

    @Override
    public void attemptedBytesRead(int bytes) {
      attemptedBytes = bytes;
    }

    @Override
    public int attemptedBytesRead() {
      return attemptedBytes;
    }

    @Override
    public boolean continueReading() {
      return continueReading(this);
    }

    /** The default "maybe more data" guess: the last read filled its buffer. */
    @Override
    public boolean get() {
      return attemptedBytes == lastBytes;
    }

    @Override
    public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
      return config.isAutoRead() && maybeMoreDataSupplier.get() && reads < MAX_READS_PER_LOOP && totalBytes > 0;
    }

    @Override
    public void readComplete() {
      if (totalBytes > 0 && totalBytes <= 1 << (shift - 1) && shift > MIN_SHIFT) {
        if (shrinkNext) {
          shift--;
          shrinkNext = false;
        } else {
          shrinkNext = true;
        }
      } else {
        shrinkNext = false;
      }
    }
  }
}
