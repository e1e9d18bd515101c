package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.client.LonglinkClient;
import io.longlink.server.Authenticator;
import io.longlink.server.Limits;
import io.longlink.server.LonglinkServer;
import io.longlink.server.ServerConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A crowd logs in at once (after a restart, say): admission control lets logins through at the
 * configured rate, tells the rest to come back after a spread retry-after, and everyone gets in.
 * 5,000 SDK clients: with both ends in this process, 10,000 sockets stay under its 20,000 open files.
 */
class AdmissionControlTest {
  static final int CLIENTS = 5_000;
  static final int RATE = 1_000;
  static final int BURST = 200;

  @Test
  void aCrowdIsPacedAtTheBucketRateAndEveryoneGetsIn() throws Exception {
    ConcurrentLinkedQueue<Long> admitted = new ConcurrentLinkedQueue<>();
    Authenticator recording = (clientId, token, remote) -> {
      admitted.add(System.nanoTime()); // called only for handshakes the bucket let through
      return Authenticator.AuthResult.accept(clientId);
    };
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    List<LonglinkClient> clients = new ArrayList<>();
    try (LonglinkServer server = LonglinkServer.builder()
        .config(ServerConfig.builder().port(0).limits(Limits.defaults().withHandshakes(RATE, BURST, 3_000)).build())
        .authenticator(recording).build().start()) {
      List<CompletableFuture<Void>> logins = new ArrayList<>();
      long start = System.nanoTime();
      for (int i = 0; i < CLIENTS; i++) {
        LonglinkClient c = LonglinkClient.builder().endpoint(server.localAddress()).clientId("crowd-" + i)
            .eventLoopGroup(group).retryInitialConnect(true).build();
        clients.add(c);
        logins.add(c.connect());
      }
      CompletableFuture.allOf(logins.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
      double seconds = (System.nanoTime() - start) / 1e9;
      long[] t = admitted.stream().mapToLong(Long::longValue).sorted().toArray();
      int peak = 0;
      for (int i = 0, j = 0; i < t.length; i++) {
        while (t[i] - t[j] > 1_000_000_000L) {
          j++;
        }
        peak = Math.max(peak, i - j + 1);
      }
      long refused = server.limitHits(Limits.Limit.HANDSHAKES);
      System.out.println(String.format("admission: %d clients in after %.1f s; %d logins admitted, at most %d in any "
          + "second (bucket %d/s + burst %d); %d refused with a retry-after", CLIENTS, seconds, t.length, peak, RATE,
          BURST, refused));
      assertThat(server.sessionCount()).isEqualTo(CLIENTS);
      assertThat(t).hasSize(CLIENTS); // nobody was admitted twice or lost
      // The bucket admits at most rate + burst in any second; the margin covers the gap between taking a
      // token and the authenticator's timestamp on two event loops. Unpaced, the first second would see ~5,000.
      assertThat(peak).isLessThanOrEqualTo((RATE + BURST) * 5 / 4);
      assertThat(refused).isPositive();
      assertThat(seconds).isGreaterThan((CLIENTS - BURST) / (double) RATE * 0.9); // paced, not let through
    } finally {
      clients.forEach(LonglinkClient::close);
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }
}
