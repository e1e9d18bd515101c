package io.longlink.chaos;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One client connection through the proxy and its upstream connection, with the toxics active on
 * it. Both channels share one event loop, which owns all state here.
 */
final class ProxiedConnection {
  private static final int HIGH_WATER = 1 << 20;
  private static final int LOW_WATER = 256 << 10;

  private final ChaosProxy proxy;
  private final Channel inbound;
  private final InetSocketAddress upstream;
  private Channel outbound;
  /** Active toxics by name, in the proxy's order. */
  private final Map<String, Toxic> active = new LinkedHashMap<>();
  private boolean closed;

  ProxiedConnection(ChaosProxy proxy, Channel inbound, InetSocketAddress upstream) {
    this.proxy = proxy;
    this.inbound = inbound;
    this.upstream = upstream;
  }

  void onLoop(Runnable task) {
    try {
      inbound.eventLoop().execute(task);
    } catch (RejectedExecutionException e) {
      // proxy closing
    }
  }

  /** Runs {@code task} on the connection's loop and waits for it, so its effect is in place on return. */
  void onLoopAndWait(Runnable task) {
    if (inbound.eventLoop().inEventLoop()) {
      task.run();
      return;
    }
    try {
      inbound.eventLoop().submit(task).syncUninterruptibly();
    } catch (RejectedExecutionException e) {
      // proxy closing
    }
  }

  /** On the inbound's loop, at accept: draw the toxics, then connect upstream. */
  void start(List<Toxic> toxics) {
    for (Toxic t : toxics) {
      consider(t);
    }
    if (closed) {
      return;
    }
    new Bootstrap()
        .group(inbound.eventLoop())
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.AUTO_READ, false)
        .handler(new Pipe(Toxic.Stream.DOWNSTREAM, inbound))
        .connect(upstream)
        .addListener((ChannelFutureListener) f -> {
          if (!f.isSuccess() || closed) {
            f.channel().close();
            reset();
            return;
          }
          outbound = f.channel();
          inbound.pipeline().addLast(new Pipe(Toxic.Stream.UPSTREAM, outbound));
          inbound.config().setAutoRead(true);
          outbound.config().setAutoRead(true);
        });
  }

  /** Activates {@code t} on this connection with probability {@code toxicity}. */
  void consider(Toxic t) {
    if (closed || !proxy.draw(t.toxicity())) {
      return;
    }
    active.put(t.name(), t);
    switch (t.type()) {
      case RESET:
        reset();
        break;
      case CLOSE:
        closeBoth();
        break;
      case TIMEOUT:
        if (t.timeoutMs() > 0) {
          inbound.eventLoop().schedule(() -> {
            if (active.get(t.name()) == t) {
              closeBoth();
            }
          }, t.timeoutMs(), TimeUnit.MILLISECONDS);
        }
        break;
      default:
        break;
    }
  }

  void deactivate(String name) {
    active.remove(name);
  }

  private List<Toxic> toxicsFor(Toxic.Stream stream) {
    List<Toxic> out = new ArrayList<>(active.size());
    for (Toxic t : active.values()) {
      if (t.stream() == stream) {
        out.add(t);
      }
    }
    return out;
  }

  /** Both sides closed with RST. */
  void reset() {
    closed = true;
    abort(inbound);
    abort(outbound);
  }

  /** Both sides closed with FIN. */
  void closeBoth() {
    closed = true;
    inbound.close();
    if (outbound != null) {
      outbound.close();
    }
  }

  private static void abort(Channel c) {
    if (c != null && c.isOpen()) {
      c.config().setOption(ChannelOption.SO_LINGER, 0);
      c.close();
    }
  }

  /** Forwards what its channel reads to {@code dest}, through the toxics of its stream. */
  private final class Pipe extends ChannelInboundHandlerAdapter {
    private final Toxic.Stream stream;
    private final Channel dest;
    /** When the last scheduled piece goes out; pieces never overtake each other. */
    private long lastSendAt;
    private long bandwidthFreeAt;
    private long forwarded;
    private long pendingBytes;
    private int scheduled;
    private Channel source;

    Pipe(Toxic.Stream stream, Channel dest) {
      this.stream = stream;
      this.dest = dest;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      source = ctx.channel();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf buf = (ByteBuf) msg;
      if (closed) {
        buf.release();
        return;
      }
      List<Toxic> ts = toxicsFor(stream);
      long latency = 0;
      long rate = 0;
      int slice = 0;
      long sliceDelay = 0;
      long limit = Long.MAX_VALUE;
      for (Toxic t : ts) {
        switch (t.type()) {
          case BLACKHOLE:
          case TIMEOUT:
            buf.release(); // swallowed; the sockets stay open
            return;
          case LATENCY:
            long j = t.jitterMs() == 0 ? 0 : proxy.random().nextLong(-t.jitterMs(), t.jitterMs() + 1);
            latency += TimeUnit.MILLISECONDS.toNanos(t.latencyMs() + j);
            break;
          case BANDWIDTH:
            rate = rate == 0 ? t.rateBytesPerSecond() : Math.min(rate, t.rateBytesPerSecond());
            break;
          case SLICER:
            slice = t.sliceBytes();
            sliceDelay = TimeUnit.MILLISECONDS.toNanos(t.sliceDelayMs());
            break;
          case LIMIT_DATA:
            limit = Math.min(limit, t.limitBytes());
            break;
          default:
            break;
        }
      }
      boolean closeAfter = false;
      long remaining = limit - forwarded;
      if (remaining <= 0) {
        buf.release();
        closeBoth();
        return;
      }
      if (buf.readableBytes() >= remaining) {
        ByteBuf cut = buf.readRetainedSlice((int) remaining);
        buf.release();
        buf = cut;
        closeAfter = true;
      }
      forwarded += buf.readableBytes();
      long now = System.nanoTime();
      long at = Math.max(lastSendAt, now + latency);
      int pieceSize = slice > 0 ? slice : buf.readableBytes();
      while (buf.isReadable()) {
        ByteBuf piece = buf.readRetainedSlice(Math.min(pieceSize, buf.readableBytes()));
        if (rate > 0) {
          // A piece leaves once the link had time to carry it.
          at = Math.max(at, bandwidthFreeAt) + piece.readableBytes() * 1_000_000_000L / rate;
          bandwidthFreeAt = at;
        }
        send(piece, at, now);
        at += sliceDelay;
      }
      buf.release();
      lastSendAt = Math.max(lastSendAt, at - sliceDelay);
      if (closeAfter) {
        schedule(ProxiedConnection.this::closeBoth, lastSendAt - now);
      }
    }

    private void send(ByteBuf piece, long at, long now) {
      int n = piece.readableBytes();
      pendingBytes += n;
      if (pendingBytes > HIGH_WATER && source.config().isAutoRead()) {
        source.config().setAutoRead(false);
      }
      Runnable write = () -> dest.writeAndFlush(piece).addListener(f -> {
        pendingBytes -= n;
        if (pendingBytes < LOW_WATER && !source.config().isAutoRead() && !closed) {
          source.config().setAutoRead(true);
        }
      });
      if (at - now <= 0 && scheduled == 0) {
        write.run();
      } else {
        schedule(write, at - now);
      }
    }

    private void schedule(Runnable task, long delayNanos) {
      scheduled++;
      source.eventLoop().schedule(() -> {
        scheduled--;
        task.run();
      }, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      // The peer closed: pass the FIN on once what was already scheduled has gone out.
      if (!closed) {
        closed = true;
        schedule(() -> dest.close(), lastSendAt - System.nanoTime());
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      reset();
    }
  }
}
