package io.longlink.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Fails a test class when Netty's leak detector reports a leaked buffer. Registered for every test
 * class by JUnit's extension auto-detection (src/test/resources/junit-platform.properties); the
 * detector runs at PARANOID (surefire sets io.netty.leakDetection.level). The recording detector
 * is installed by {@link Installer} when the test run starts, before any engine creates a buffer.
 */
public final class NettyLeakGuard implements AfterAllCallback {
  private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

  static {
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
  }

  /** Loads this class (and so installs the factory) at the start of the launcher session. */
  public static final class Installer implements LauncherSessionListener {
    @Override
    public void launcherSessionOpened(LauncherSession session) {
      LEAKS.size();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    // Leaks are reported when a later allocation polls the reference queue after a GC.
    for (int i = 0; i < 3 && LEAKS.isEmpty(); i++) {
      System.gc();
      ByteBuf probe = PooledByteBufAllocator.DEFAULT.buffer(1);
      probe.release();
    }
    List<String> leaks = List.copyOf(LEAKS);
    LEAKS.clear();
    assertThat(leaks).as("Netty leak reports in " + context.getDisplayName()).isEmpty();
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    @Override
    @SuppressWarnings("deprecation")
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval, long maxActive) {
      return new ResourceLeakDetector<>(resource, samplingInterval) {
        @Override
        protected void reportTracedLeak(String resourceType, String records) {
          LEAKS.add(resourceType + " " + records);
          super.reportTracedLeak(resourceType, records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
          LEAKS.add(resourceType + " (untraced)");
          super.reportUntracedLeak(resourceType);
        }
      };
    }
  }
}
