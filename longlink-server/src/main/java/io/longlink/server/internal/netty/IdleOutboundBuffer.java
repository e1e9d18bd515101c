package io.longlink.server.internal.netty;

import io.netty.channel.AbstractChannel;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes the empty outbound buffer from a connection that is not being written to, and gives it a
 * new one before the next write.
 *
 * <p>Why: every Netty channel keeps its {@code ChannelOutboundBuffer} (64 bytes) from accept to
 * close, although an idle connection writes one heartbeat answer every half minute. Made again at
 * that answer, it costs one small allocation per heartbeat; kept, 64 bytes on every one of a
 * million idle connections.
 *
 * <p>How: the buffer sits in a non-final field of the channel's unsafe, which Netty also sets to
 * {@code null} when the channel closes; while it is {@code null} Netty fails writes as if the
 * channel were closed and reports it not writable, and a flush does nothing (there is nothing to
 * flush). So only the channel's one handler may take it, on the channel's event loop, and it must
 * {@link #restore} it before it writes or asks whether the channel is writable. Works on every
 * transport; where the field or the constructor cannot be reached, nothing is taken.
 */
public final class IdleOutboundBuffer {
  private static final Logger log = LoggerFactory.getLogger(IdleOutboundBuffer.class);
  private static final NettyField BUFFER = NettyField.find("io.netty.channel.AbstractChannel$AbstractUnsafe", "outboundBuffer");
  private static final MethodHandle NEW_BUFFER = constructor();

  private IdleOutboundBuffer() {}

  private static MethodHandle constructor() {
    try {
      return MethodHandles.privateLookupIn(ChannelOutboundBuffer.class, MethodHandles.lookup())
          .findConstructor(ChannelOutboundBuffer.class, MethodType.methodType(void.class, AbstractChannel.class));
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.debug("ChannelOutboundBuffer's constructor not reachable; channels keep their buffers: {}", e.toString());
      return null;
    }
  }

  /**
   * Takes {@code ch}'s outbound buffer if it holds nothing. Event loop only; the caller must then
   * {@link #restore} before writing to {@code ch} or asking {@link Channel#isWritable()}.
   *
   * @return true if the buffer was taken
   */
  public static boolean release(Channel ch) {
    if (BUFFER == null || NEW_BUFFER == null || !(ch instanceof AbstractChannel) || !ch.isOpen()) {
      return false;
    }
    Channel.Unsafe unsafe = ch.unsafe();
    if (!BUFFER.in(unsafe) || !(BUFFER.handle().getVolatile(unsafe) instanceof ChannelOutboundBuffer buf)) {
      return false;
    }
    // Flushed or not, every message counts in the pending bytes; writability could be user-set.
    if (!buf.isEmpty() || buf.totalPendingWriteBytes() != 0 || !buf.isWritable()) {
      return false;
    }
    BUFFER.handle().setVolatile(unsafe, (ChannelOutboundBuffer) null);
    return true;
  }

  /**
   * Gives {@code ch}, whose buffer {@link #release} took, a new empty one -- unless it closed
   * meanwhile: a closed channel must keep failing writes. Event loop only.
   */
  public static void restore(Channel ch) {
    Channel.Unsafe unsafe = ch.unsafe();
    if (ch.isOpen() && BUFFER.handle().getVolatile(unsafe) == null) {
      try {
        BUFFER.handle().setVolatile(unsafe, (ChannelOutboundBuffer) NEW_BUFFER.invoke((AbstractChannel) ch));
      } catch (Throwable e) {
        throw new IllegalStateException("cannot give " + ch + " a new outbound buffer", e);
      }
    }
  }

  /** True if {@code ch} has an outbound buffer (a closed channel has none either). */
  public static boolean holds(Channel ch) {
    return ch.unsafe().outboundBuffer() != null;
  }
}
