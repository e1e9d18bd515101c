package io.longlink.client;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Races TCP connects to several endpoints, Happy Eyeballs style (RFC 8305): the first now, the next
 * when one fails or after {@code staggerNanos} without an answer, at most {@code maxInFlight} at a
 * time; the first to connect wins and the others are closed. So an endpoint that silently drops SYNs
 * costs the stagger, not the connect timeout. Only the connect is raced: one login per attempt, since
 * two HELLOs resuming one session would fence each other. Confined to {@code loop}.
 */
final class Dialer {
  private final EventLoop loop;
  private final List<InetSocketAddress> candidates;
  private final long staggerNanos;
  private final int maxInFlight;
  private final Function<InetSocketAddress, ChannelFuture> connect;
  private final BiConsumer<Channel, InetSocketAddress> won;
  private final Consumer<Throwable> allFailed;
  private final List<Channel> pending = new ArrayList<>();
  private int next;
  private int inFlight;
  private boolean done;
  private ScheduledFuture<?> stagger;
  private Throwable lastFailure;

  Dialer(EventLoop loop, List<InetSocketAddress> candidates, long staggerNanos, int maxInFlight,
      Function<InetSocketAddress, ChannelFuture> connect, BiConsumer<Channel, InetSocketAddress> won,
      Consumer<Throwable> allFailed) {
    this.loop = loop;
    this.candidates = List.copyOf(candidates);
    this.staggerNanos = staggerNanos;
    this.maxInFlight = Math.max(1, maxInFlight);
    this.connect = connect;
    this.won = won;
    this.allFailed = allFailed;
  }

  void start() {
    launch();
  }

  /** Stops the race; every connection it still holds is closed. */
  void cancel() {
    done = true;
    if (stagger != null) {
      stagger.cancel(false);
    }
    // A copy: closing a channel fails its connect future, whose listener removes it from the list.
    List<Channel> all = new ArrayList<>(pending);
    pending.clear();
    all.forEach(Channel::close);
  }

  private void launch() {
    if (done || next >= candidates.size()) {
      return;
    }
    InetSocketAddress to = candidates.get(next++);
    inFlight++;
    ChannelFuture f;
    try {
      f = connect.apply(to);
    } catch (RuntimeException e) {
      failed(e);
      return;
    }
    pending.add(f.channel());
    f.addListener((ChannelFutureListener) cf -> {
      pending.remove(cf.channel());
      if (done) {
        cf.channel().close();
        return;
      }
      if (cf.isSuccess()) {
        cancel(); // the others
        won.accept(cf.channel(), to);
      } else {
        failed(cf.cause());
      }
    });
    armStagger();
  }

  private void failed(Throwable cause) {
    inFlight--;
    lastFailure = cause;
    if (next < candidates.size()) {
      launch(); // a failure makes room at once
    } else if (inFlight == 0) {
      done = true;
      allFailed.accept(lastFailure);
    }
  }

  private void armStagger() {
    if (stagger != null) {
      stagger.cancel(false);
    }
    if (next < candidates.size()) {
      stagger = loop.schedule(() -> {
        stagger = null;
        if (!done && inFlight < maxInFlight) {
          launch();
        } else if (!done) {
          armStagger();
        }
      }, staggerNanos, TimeUnit.NANOSECONDS);
    }
  }
}
