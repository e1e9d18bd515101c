package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.server.Authenticator;
import io.longlink.server.Limits;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crowd of 10,000 SDK clients logs in at once (after a restart, say): admission control lets
 * logins through at the configured rate, tells the rest to come back after a spread retry-after, and
 * everyone gets in. The clients run in a process of their own: with both ends in one process, 20,000
 * sockets would reach its open-file limit.
 */
class AdmissionControlTest {
  static final int CLIENTS = 10_000;
  static final int RATE = 1_000;
  static final int BURST = 200;

  @Test
  void aCrowdIsPacedAtTheBucketRateAndEveryoneGetsIn(@TempDir Path dir) throws Exception {
    ConcurrentLinkedQueue<Long> admitted = new ConcurrentLinkedQueue<>();
    Authenticator recording = (clientId, token, remote) -> {
      admitted.add(System.nanoTime()); // called only for handshakes the bucket let through
      return Authenticator.AuthResult.accept(clientId);
    };
    try (LonglinkServer server = LonglinkServer.builder()
        .config(ServerConfig.builder().port(0).limits(Limits.defaults().withHandshakes(RATE, BURST, 3_000)).build())
        .authenticator(recording).build().start()) {
      Path report = dir.resolve("crowd.report");
      long start = System.nanoTime();
      Process crowd = Crowd.start("127.0.0.1", server.localAddress().getPort(), CLIENTS, "crowd-", report);
      try {
        String said = Crowd.awaitReport(crowd, report, 150);
        double seconds = (System.nanoTime() - start) / 1e9;
        long[] t = admitted.stream().mapToLong(Long::longValue).sorted().toArray();
        int peak = 0;
        for (int i = 0, j = 0; i < t.length; i++) {
          while (t[i] - t[j] > 1_000_000_000L) {
            j++;
          }
          peak = Math.max(peak, i - j + 1);
        }
        double spanSeconds = (t[t.length - 1] - t[0]) / 1e9;
        long refused = server.stats().limitHits(Limits.Limit.HANDSHAKES);
        System.out.println(String.format("admission: %d clients (another process) in after %.1f s, logins admitted over "
            + "%.1f s; %d admitted, at most %d in any second (bucket %d/s + burst %d); %d refused with a retry-after; "
            + "crowd says: %s", CLIENTS, seconds, spanSeconds, t.length, peak, RATE, BURST, refused, said));
        assertThat(server.stats().sessions()).isEqualTo(CLIENTS);
        assertThat(t).hasSize(CLIENTS); // nobody was admitted twice or lost
        // The bucket admits at most rate + burst in any second; the margin covers the gap between taking a
        // token and the authenticator's timestamp on two event loops. Unpaced, the first second would see
        // most of the crowd.
        assertThat(peak).isLessThanOrEqualTo((RATE + BURST) * 5 / 4);
        assertThat(refused).isPositive();
        assertThat(said).isEqualTo("connected " + CLIENTS + " refused " + refused); // each refusal reached a client
        assertThat(spanSeconds).isGreaterThan((CLIENTS - BURST) / (double) RATE * 0.9); // paced, not let through
      } finally {
        crowd.getOutputStream().close(); // the crowd leaves
        if (!crowd.waitFor(30, TimeUnit.SECONDS)) {
          crowd.destroyForcibly();
        }
      }
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
          .until(() -> server.stats().connections() == 0);
    }
  }
}
