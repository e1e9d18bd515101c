package io.longlink.server.internal;

import io.netty.util.concurrent.EventExecutor;

/**
 * What the connections of one event loop share: the way to their node ({@link Gateway}), the loop's
 * liveness timer and its write pass. One reference per connection reaches all three. Confined to
 * its event loop, except {@link #gateway}.
 */
final class LoopContext {
  final Gateway gateway;
  final LivenessSweeper<ServerConnection> sweeper;
  /** When this loop's connections write (at once, or gathered while it writes to many). */
  final WriteCoalescer writes;
  /** What the credentials of this loop's connections allow and until when (only those that need it). */
  final LoopAuth auth = new LoopAuth();

  LoopContext(EventExecutor loop, Gateway gateway) {
    this(gateway, new LivenessSweeper<>(loop, gateway.config), loop);
  }

  LoopContext(Gateway gateway, LivenessSweeper<ServerConnection> sweeper, EventExecutor loop) {
    this.gateway = gateway;
    this.sweeper = sweeper;
    this.writes = new WriteCoalescer(loop, gateway.ticker, gateway.config.writeCoalescing().toNanos(),
        gateway.counters.coalescedWrites);
  }
}
