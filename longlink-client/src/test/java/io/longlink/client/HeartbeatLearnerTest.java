package io.longlink.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.longlink.client.HeartbeatLearner.Change;
import io.longlink.client.HeartbeatLearner.Step;
import io.longlink.client.heartbeat.LearnedHeartbeat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class HeartbeatLearnerTest {
  static final long MIN = 10_000;
  static final long START = 30_000;
  static final long MAX = 300_000;
  static final long HOUR = 3_600_000;
  final HeartbeatLearner learner = new HeartbeatLearner(1.15, 3, HOUR);

  static LearnedHeartbeat s(long interval, long proven, long failed, boolean holding, long since) {
    return new LearnedHeartbeat("wifi", interval, proven, failed, holding, since);
  }

  enum Event { SURVIVED, EXPIRED }

  static Stream<Arguments> table() {
    return Stream.of(
        // state before, beats before, event, at, state after, beats after, change
        Arguments.of("first survived idle period: proven, not yet grown",
            s(30_000, 0, 0, false, 0), 0, Event.SURVIVED, 1_000, s(30_000, 30_000, 0, false, 0), 1, Change.NONE),
        Arguments.of("third in a row: one step longer",
            s(30_000, 30_000, 0, false, 0), 2, Event.SURVIVED, 1_000, s(34_500, 30_000, 0, false, 1_000), 0, Change.GREW),
        Arguments.of("a step that reaches the failed interval: hold where it is",
            s(39_675, 39_675, 45_626, false, 0), 2, Event.SURVIVED, 5_000, s(39_675, 39_675, 45_626, true, 5_000), 0,
            Change.HELD),
        Arguments.of("a step past the maximum: the maximum",
            s(270_000, 270_000, 0, false, 0), 2, Event.SURVIVED, 5_000, s(300_000, 270_000, 0, false, 5_000), 0,
            Change.GREW),
        Arguments.of("at the maximum: hold",
            s(300_000, 300_000, 0, false, 0), 2, Event.SURVIVED, 5_000, s(300_000, 300_000, 0, true, 5_000), 0,
            Change.HELD),
        Arguments.of("holding: survived periods change nothing",
            s(39_675, 39_675, 45_626, true, 0), 7, Event.SURVIVED, HOUR - 1, s(39_675, 39_675, 45_626, true, 0), 8,
            Change.NONE),
        Arguments.of("held for the relearn period: the failure is forgotten and it tries longer",
            s(39_675, 39_675, 45_626, true, 0), 7, Event.SURVIVED, HOUR, s(45_626, 39_675, 0, false, HOUR), 0,
            Change.RELEARNING),
        Arguments.of("an unproven longer interval dies: back to the proven one, held",
            s(45_626, 39_675, 0, false, 0), 0, Event.EXPIRED, 9_000, s(39_675, 39_675, 45_626, true, 9_000), 0,
            Change.STEPPED_BACK),
        Arguments.of("the start dies with nothing proven: halved, still learning",
            s(30_000, 0, 0, false, 0), 0, Event.EXPIRED, 9_000, s(15_000, 0, 30_000, false, 9_000), 0, Change.HALVED),
        Arguments.of("halving stops at the minimum, which is then held",
            s(15_000, 0, 30_000, false, 0), 0, Event.EXPIRED, 9_000, s(MIN, 0, 15_000, true, 9_000), 0, Change.HALVED),
        Arguments.of("a proven interval dies (marginal, or the NAT changed): one step shorter, held",
            s(39_675, 39_675, 45_626, true, 0), 4, Event.EXPIRED, 9_000, s(34_500, 0, 39_675, true, 9_000), 0,
            Change.STEPPED_BACK),
        Arguments.of("a failure below an earlier one lowers the failed bound",
            s(22_813, 19_837, 30_000, false, 0), 0, Event.EXPIRED, 9_000, s(19_837, 19_837, 22_813, true, 9_000), 0,
            Change.STEPPED_BACK));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void decides(String name, LearnedHeartbeat before, int beats, Event event, long now, LearnedHeartbeat after,
      int beatsAfter, Change change) {
    Step step = event == Event.SURVIVED ? learner.survived(before, beats, MAX, now) : learner.expired(before, MIN, now);
    assertThat(step.change()).isEqualTo(change);
    assertThat(step.state()).isEqualTo(after);
    assertThat(step.beats()).isEqualTo(beatsAfter);
  }

  static Stream<Arguments> starts() {
    return Stream.of(
        Arguments.of("nothing stored: the server's interval", null, 0L, s(30_000, 0, 0, false, 0), Change.NONE),
        Arguments.of("stored: resumed as it was", s(80_000, 80_000, 92_000, true, 100), 200L,
            s(80_000, 80_000, 92_000, true, 100), Change.NONE),
        Arguments.of("stored above this server's maximum: clamped, held there", s(400_000, 400_000, 0, true, 100), 200L,
            s(MAX, MAX, 0, true, 100), Change.NONE),
        Arguments.of("stored below this server's minimum: raised to it", s(5_000, 5_000, 6_000, true, 100), 200L,
            s(MIN, 5_000, 6_000, true, 100), Change.NONE),
        Arguments.of("stored hold older than the relearn period: let go", s(80_000, 80_000, 92_000, true, 0), HOUR,
            s(80_000, 80_000, 0, false, HOUR), Change.RELEARNING));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("starts")
  void startsFromWhatWasLearned(String name, LearnedHeartbeat stored, long now, LearnedHeartbeat expected,
      Change change) {
    Step step = learner.start("wifi", stored, MIN, START, MAX, now);
    assertThat(step.state()).isEqualTo(expected);
    assertThat(step.change()).isEqualTo(change);
  }

  @Test
  void refusesSettingsThatCannotConverge() {
    assertThatThrownBy(() -> new HeartbeatLearner(1.0, 3, HOUR)).hasMessageContaining("step 1.0");
    assertThatThrownBy(() -> new HeartbeatLearner(1.15, 0, HOUR)).hasMessageContaining("beats to grow 0");
  }

  /**
   * The whole loop on a model NAT that forgets a flow idle for {@code natMs}: the learner settles
   * within 15 % below it, in a bounded number of reconnects, from any start.
   */
  @ParameterizedTest(name = "NAT {0} ms")
  @MethodSource("nats")
  void settlesWithinFifteenPercentBelowTheNatTimeout(long natMs) {
    HeartbeatSimulation.Result r = HeartbeatSimulation.adaptive(learner, natMs, MIN, START, MAX, 10_000, 6 * HOUR);
    assertThat(r.settledMs()).as("settled interval for a %d ms NAT", natMs)
        .isLessThan(natMs).isGreaterThanOrEqualTo((long) (natMs * 0.85));
    assertThat(r.learningReconnects()).as("reconnects while learning").isBetween(0L, 3L);
    assertThat(r.reconnects() - r.learningReconnects()).as("reconnects after, one per relearn period at most")
        .isLessThanOrEqualTo(5);
  }

  static List<Long> nats() {
    return List.of(12_000L, 20_000L, 29_000L, 45_000L, 90_000L, 180_000L, 290_000L);
  }

  /** The model itself: a fixed interval above the NAT's timeout never survives; one below always does. */
  @Test
  void theModelNatKillsExactlyTheIntervalsAboveItsTimeout() {
    assertThat(HeartbeatSimulation.fixed(30_000, 3, 20_000, HOUR).reconnects()).isGreaterThan(30);
    assertThat(HeartbeatSimulation.fixed(30_000, 3, 45_000, HOUR).reconnects()).isZero();
    assertThat(HeartbeatSimulation.fixed(30_000, 3, 45_000, HOUR).heartbeats()).isEqualTo(120);
  }

  /** The report in docs/BENCHMARKS.md: heartbeats over an hour, adaptive against a fixed 30 s. */
  @Test
  void reportsAnHourOfHeartbeatsAgainstAFixedInterval() {
    HeartbeatLearner defaults = new HeartbeatLearner(AdaptiveHeartbeat.DEFAULT_STEP, AdaptiveHeartbeat.DEFAULT_BEATS_TO_GROW,
        AdaptiveHeartbeat.DEFAULT_RELEARN_AFTER.toMillis());
    StringBuilder out = new StringBuilder("| NAT timeout | fixed 30 s: heartbeats, reconnects, time dead | adaptive: "
        + "heartbeats, reconnects, settled at, time dead |\n");
    for (long nat : List.of(20_000L, 45_000L, 90_000L)) {
      HeartbeatSimulation.Result f = HeartbeatSimulation.fixed(30_000, 3, nat, HOUR);
      HeartbeatSimulation.Result a = HeartbeatSimulation.adaptive(defaults, nat, MIN, START, MAX, 10_000, HOUR);
      out.append(String.format("| %d s | %d, %d, %d s | %d, %d, %.1f s, %d s |%n", nat / 1000, f.heartbeats(),
          f.reconnects(), f.deadMs() / 1000, a.heartbeats(), a.reconnects(), a.settledMs() / 1000.0, a.deadMs() / 1000));
      assertThat(a.reconnects()).as("NAT %d ms", nat).isLessThanOrEqualTo(Math.max(3, f.reconnects()));
      if (nat > 30_000) {
        assertThat(a.heartbeats()).as("NAT %d ms", nat).isLessThan(f.heartbeats());
      }
    }
    System.out.print(out);
  }
}
