package io.longlink.app;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** How long-running commands wait: until SIGTERM / Ctrl-C, or an interrupt when embedded (tests). */
final class UntilStopped {
  private static final Logger log = LoggerFactory.getLogger(UntilStopped.class);

  private UntilStopped() {}

  /**
   * Blocks until SIGTERM or SIGINT, then runs {@code graceful} (e.g. a drain) and returns; a second
   * signal meanwhile ends the process at once (exit code 130). When embedded, an interrupt runs
   * {@code immediate} instead and returns. Either runs at most once.
   */
  static void awaitWithDrain(Runnable graceful, Runnable immediate) {
    AtomicBoolean done = new AtomicBoolean();
    AtomicInteger signals = new AtomicInteger();
    CountDownLatch stopped = new CountDownLatch(1);
    sun.misc.SignalHandler handler = sig -> {
      if (signals.getAndIncrement() > 0) {
        log.warn("second SIG{}: stopping now, without waiting for the drain", sig.getName());
        Runtime.getRuntime().halt(130);
      }
      Thread.ofPlatform().name("longlink-drain").start(() -> {
        try {
          if (done.compareAndSet(false, true)) {
            graceful.run();
          }
        } finally {
          stopped.countDown();
        }
      });
    };
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), handler);
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), handler);
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      if (done.compareAndSet(false, true)) {
        immediate.run();
      }
    }
  }

  /** Runs {@code graceful} as if the process got SIGTERM (the admin API's drain). */
  static void signalDrain() {
    sun.misc.Signal.raise(new sun.misc.Signal("TERM"));
  }

  /** Blocks until the process is asked to stop, then runs {@code stop} exactly once. */
  static void await(Runnable stop) {
    AtomicBoolean done = new AtomicBoolean();
    Runnable once = () -> {
      if (done.compareAndSet(false, true)) {
        stop.run();
      }
    };
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      once.run();
      stopped.countDown();
    }, "longlink-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      Runtime.getRuntime().removeShutdownHook(hook);
      once.run();
    }
  }
}
