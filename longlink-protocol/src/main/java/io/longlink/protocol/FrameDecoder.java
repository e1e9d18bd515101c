package io.longlink.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the byte stream into {@link Frame}s. Bad input (a length of 0 or above the limit, an
 * unknown type, a malformed body) raises a {@link ProtocolException} (wrapped by Netty in a
 * {@code DecoderException}; see {@link #protocolCause(Throwable)}) and everything after it on the
 * connection is discarded: the handler answers with an ERROR frame and closes.
 *
 * <p>Holds no buffer while the connection is idle between frames. Not sharable: one per channel.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
  private int maxFrameSize;
  private boolean failed;

  /** @param maxFrameSize the largest {@code length} accepted, see docs/PROTOCOL.md section 3 */
  public FrameDecoder(int maxFrameSize) {
    setMaxFrameSize(maxFrameSize);
  }

  /** Changes the limit, e.g. from the handshake limit to the session limit. Event loop only. */
  public void setMaxFrameSize(int maxFrameSize) {
    if (maxFrameSize < 1) {
      throw new IllegalArgumentException("maxFrameSize: " + maxFrameSize + " (expected: >= 1)");
    }
    this.maxFrameSize = maxFrameSize;
  }

  public int maxFrameSize() {
    return maxFrameSize;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    Frame frame;
    try {
      frame = decodeOne(in, maxFrameSize);
    } catch (ProtocolException e) {
      throw fail(in, e);
    }
    if (frame != null) {
      out.add(frame);
    }
  }

  /**
   * Takes one whole frame off {@code in}, or returns {@code null} and consumes nothing if the frame
   * is not complete yet. For handlers that decode inline instead of through this decoder; after a
   * {@link ProtocolException} the caller must discard the rest of the stream.
   *
   * @throws ProtocolException on a bad length or a malformed frame
   */
  public static Frame decodeOne(ByteBuf in, int maxFrameSize) {
    if (in.readableBytes() < FrameCodec.LENGTH_FIELD_BYTES) {
      return null;
    }
    long length = in.getUnsignedInt(in.readerIndex());
    if (length < 1) {
      throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "frame length 0 (expected: >= 1)");
    }
    if (length > maxFrameSize) {
      throw new ProtocolException(ErrorCode.FRAME_TOO_LARGE,
          "frame length " + length + " (expected: <= " + maxFrameSize + ")");
    }
    if (in.readableBytes() < FrameCodec.LENGTH_FIELD_BYTES + length) {
      return null;
    }
    in.skipBytes(FrameCodec.LENGTH_FIELD_BYTES);
    // The frame's bytes alone are readable while it is decoded: no slice object per frame. The
    // codec copies what it keeps, so nothing refers to the buffer afterwards.
    int writerIndex = in.writerIndex();
    in.writerIndex(in.readerIndex() + (int) length);
    try {
      return FrameCodec.decode(in);
    } finally {
      in.writerIndex(writerIndex);
    }
  }

  private ProtocolException fail(ByteBuf in, ProtocolException e) {
    failed = true;
    in.skipBytes(in.readableBytes());
    return e;
  }

  /** The {@link ProtocolException} behind an exception a pipeline reported, or {@code null}. */
  public static ProtocolException protocolCause(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ProtocolException) {
        return (ProtocolException) c;
      }
    }
    return null;
  }
}
