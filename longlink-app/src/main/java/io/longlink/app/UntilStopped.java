package io.longlink.app;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/** How long-running commands wait: until SIGTERM / Ctrl-C, or an interrupt when embedded (tests). */
final class UntilStopped {
  private UntilStopped() {}

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
