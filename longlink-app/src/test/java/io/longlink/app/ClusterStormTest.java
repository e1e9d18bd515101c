package io.longlink.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.testing.RedisProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench storm --redis} as a test: two cluster nodes in child JVMs share sessions through a
 * real Redis; the one holding every client is killed with {@code kill -9} (or drained), and every
 * client resumes its session on the other with no message lost.
 */
class ClusterStormTest {

  @Test
  void clientsOfAKilledNodeResumeOnTheOtherWithNothingLost(@TempDir Path dir) throws Exception {
    try (RedisProcess redis = RedisProcess.start(dir)) {
      CliTest.Result killed = CliTest.run("bench", "storm", "--clients", "200", "--messages", "5", "--redis", redis.uri(),
          "--out", dir.resolve("kill.json").toString());
      assertThat(killed.code()).as(killed.err() + killed.out()).isZero();
      assertThat(killed.out()).contains("storm (kill, cluster: resumed on the other node): 200 of 200 clients back")
          .contains("sessions lost 0").contains("messages acknowledged 1000, delivered 1000, lost 0");
      assertThat(Files.readString(dir.resolve("kill.json"))).contains("\"cluster\":true").contains("\"sessions_lost\":0");

      CliTest.Result drained = CliTest.run("bench", "storm", "--clients", "200", "--mode", "drain", "--drain-spread", "500",
          "--redis", redis.uri());
      assertThat(drained.code()).as(drained.err() + drained.out()).isZero();
      assertThat(drained.out()).contains("200 of 200 clients back").contains("sessions lost 0")
          .contains("messages acknowledged 1000, delivered 1000, lost 0");
    }
  }
}
