package io.longlink.server;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ThreadFactory;

/**
 * Asks the Linux scheduler for a short time slice for a thread (EEVDF's per-task slice, Linux 6.12
 * and later: {@code sched_attr.sched_runtime} of a {@code SCHED_OTHER} thread).
 *
 * <p>Why: an event loop runs in short bursts: woken by a packet, it reads, routes and writes for
 * some tens of microseconds and sleeps again. With the kernel's default slice (about 1.4 ms on two
 * cores) a loop woken while its core runs another thread that uses whole slices (a garbage
 * collector or compiler thread, another process) often waits for that slice to end, and those waits
 * are the milliseconds of a latency tail. A thread asking for a shorter slice gets an earlier
 * deadline: woken, it preempts such a thread at once. It gets no more CPU than before (weight and
 * nice are unchanged, so no privilege is needed), only shorter, sooner turns.
 *
 * <p>On older kernels, other systems or architectures nothing changes: {@link #request} reports
 * false. Needs native access for the system call ({@code --enable-native-access=ALL-UNNAMED}; the
 * JDK only warns without it).
 */
public final class SchedulerSlice {
  /** The shortest slice the kernel takes (it clamps shorter requests up to this). */
  public static final Duration MIN = Duration.ofNanos(100_000);
  /** The longest slice the kernel takes. */
  public static final Duration MAX = Duration.ofMillis(100);

  /** struct sched_attr (SCHED_ATTR_SIZE_VER1): size, policy, flags, nice, priority, runtime, ... */
  private static final int ATTR_SIZE = 56;
  private static final long POLICY = 4;
  private static final long RUNTIME = 24;
  private static final int SCHED_OTHER = 0;
  private static final int SCHED_BATCH = 3;

  private static final MethodHandle SYSCALL = syscall();
  /** sched_setattr and sched_getattr on this architecture; -1 where unknown. */
  private static final long SET_ATTR;
  private static final long GET_ATTR;
  /** What {@link #supported} found; null until asked. */
  private static volatile Boolean supported;

  static {
    String arch = System.getProperty("os.arch", "");
    boolean linux = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
    if (linux && (arch.equals("amd64") || arch.equals("x86_64"))) {
      SET_ATTR = 314;
      GET_ATTR = 315;
    } else if (linux && arch.equals("aarch64")) {
      SET_ATTR = 274;
      GET_ATTR = 275;
    } else {
      SET_ATTR = -1;
      GET_ATTR = -1;
    }
  }

  private SchedulerSlice() {}

  /**
   * Asks for {@code slice} for the calling thread, keeping its policy and nice value.
   *
   * @return true if the kernel took it (read back), false where it does not support per-thread
   *     slices, or the thread is not a normal time-shared one (real-time, idle)
   * @throws IllegalArgumentException unless {@code slice} is within [{@link #MIN}, {@link #MAX}]
   */
  public static boolean request(Duration slice) {
    if (!inRange(slice)) {
      throw refused(slice, "");
    }
    if (SYSCALL == null || SET_ATTR < 0) {
      return false;
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
      if (call(GET_ATTR, attr, ATTR_SIZE) != 0) {
        return false;
      }
      int policy = attr.get(JAVA_INT, POLICY);
      if (policy != SCHED_OTHER && policy != SCHED_BATCH) {
        return false;
      }
      attr.set(JAVA_INT, 0, ATTR_SIZE);
      attr.set(JAVA_LONG, RUNTIME, slice.toNanos());
      if (call(SET_ATTR, attr, 0) != 0) {
        return false;
      }
      attr.fill((byte) 0);
      return call(GET_ATTR, attr, ATTR_SIZE) == 0 && attr.get(JAVA_LONG, RUNTIME) == slice.toNanos();
    }
  }

  /**
   * Threads of {@code base} that ask for {@code slice} before they run; {@code base} itself if zero.
   *
   * @throws IllegalArgumentException unless {@code slice} is zero or within [{@link #MIN}, {@link #MAX}]
   */
  public static ThreadFactory threads(ThreadFactory base, Duration slice) {
    if (!allowed(slice)) {
      throw refused(slice, "0 or ");
    }
    if (slice.isZero()) {
      return base;
    }
    return r -> base.newThread(() -> {
      request(slice);
      r.run();
    });
  }

  /** Zero (the kernel's default) or a slice the kernel takes as asked: what {@link #threads} accepts. */
  public static boolean allowed(Duration slice) {
    return slice.isZero() || inRange(slice);
  }

  private static boolean inRange(Duration slice) {
    return slice.compareTo(MIN) >= 0 && slice.compareTo(MAX) <= 0;
  }

  private static IllegalArgumentException refused(Duration slice, String orZero) {
    return new IllegalArgumentException("slice: " + slice + " (expected: " + orZero + MIN + ".." + MAX + ")");
  }

  /**
   * Whether this kernel takes per-thread slices: a short-lived thread asks for one. For reporting
   * what {@link #threads} will do.
   */
  public static boolean supported() {
    Boolean s = supported;
    if (s == null) { // two threads may both probe: the same answer
      boolean[] took = new boolean[1];
      Thread t = new Thread(() -> took[0] = request(MIN), "longlink-slice-probe");
      t.start();
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false; // not known yet
      }
      supported = s = took[0];
    }
    return s;
  }

  /** {@code syscall(number, 0 (this thread), attr, third, 0)}: -1 on failure. */
  private static long call(long number, MemorySegment attr, long third) {
    try {
      return (long) SYSCALL.invokeExact(number, 0L, attr, third, 0L);
    } catch (Throwable e) {
      return -1;
    }
  }

  /** libc's {@code long syscall(long, ...)}, its variable arguments passed as longs, as it reads them. */
  private static MethodHandle syscall() {
    try {
      Linker linker = Linker.nativeLinker();
      return linker.defaultLookup().find("syscall")
          .map(address -> linker.downcallHandle(address,
              FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG),
              Linker.Option.firstVariadicArg(1)))
          .orElse(null);
    } catch (RuntimeException | LinkageError e) {
      return null; // no native access, or no libc: slices stay the kernel's
    }
  }
}
