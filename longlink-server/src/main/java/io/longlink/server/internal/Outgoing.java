package io.longlink.server.internal;

import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.TargetKind;
import io.longlink.server.spi.ClusterStore;
import io.netty.buffer.ByteBuf;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A message on its way to sessions, as their replay buffers keep it: one object shared by every
 * session it goes to. For a message {@linkplain #shared shared} by several sessions the DATA
 * frame's bytes after the sequence number are encoded once, by the first connection that writes
 * the message, and copied by each under its session's number: a fan-out to a thousand subscribers
 * is one object and one encoding, not a thousand. A message for one session is written straight
 * from its fields. Thread-safe.
 */
final class Outgoing {
  /** Fixed cost counted per buffered message on top of its payload and names. */
  static final int MESSAGE_OVERHEAD_BYTES = io.longlink.server.ServerConfig.MESSAGE_OVERHEAD_BYTES;
  private static final VarHandle TAIL;

  static {
    try {
      TAIL = MethodHandles.lookup().findVarHandle(Outgoing.class, "tail", byte[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final String from;
  final TargetKind kind;
  final String target;
  final byte[] payload;
  /** Goes to more than one session (a topic's): worth encoding once. */
  final boolean shared;
  /** What it counts against a replay buffer's byte bound. */
  final int size;
  /** What the frame says after its seq (docs/PROTOCOL.md, DATA), once encoded; see {@link #tail()}. */
  @SuppressWarnings("unused") // through TAIL
  private byte[] tail;

  Outgoing(String from, TargetKind kind, String target, byte[] payload, boolean shared) {
    this.from = from;
    this.kind = kind;
    this.target = target;
    this.payload = payload;
    this.shared = shared;
    this.size = sizeOf(from, target, payload);
  }

  /** Bytes of its DATA frame. */
  int frameSize() {
    return shared ? FrameCodec.dataFrameSize(tail()) : FrameCodec.dataFrameSize(kind, target, from, payload);
  }

  /** Writes its DATA frame, numbered {@code seq}. */
  void writeTo(long seq, ByteBuf out) {
    if (shared) {
      FrameCodec.encodeData(seq, tail(), out);
    } else {
      FrameCodec.encodeData(seq, kind, target, from, payload, out);
    }
  }

  /**
   * The frame's bytes after its seq, encoded on first use. Two loops writing the message at once
   * may both encode it; either result is the same.
   */
  private byte[] tail() {
    byte[] t = (byte[]) TAIL.getAcquire(this);
    if (t == null) {
      t = FrameCodec.encodeDataTail(kind, target, from, payload);
      TAIL.setRelease(this, t);
    }
    return t;
  }

  /** What a message counts against a replay buffer's byte bound: payload, names (as UTF-16) and a fixed overhead. */
  static int sizeOf(String from, String target, byte[] payload) {
    return MESSAGE_OVERHEAD_BYTES + payload.length + 2 * (target.length() + from.length());
  }

  static Outgoing of(ClusterStore.Message m) {
    return new Outgoing(m.from(), m.kind(), m.target(), m.payload(), false);
  }

  ClusterStore.Message message() {
    return new ClusterStore.Message(from, kind, target, payload);
  }
}
