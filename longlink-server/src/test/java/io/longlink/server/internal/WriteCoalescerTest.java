package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.protocol.testing.FakeTicker;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** When an event loop writes at once and when it gathers writes into passes (fake clock, embedded loop). */
class WriteCoalescerTest {
  private static final Duration DELAY = Duration.ofMillis(5);

  final FakeTicker clock = new FakeTicker();
  final EmbeddedChannel loopOwner = new EmbeddedChannel();
  final LongAdder coalesced = new LongAdder();
  final List<Integer> written = new ArrayList<>();
  WriteCoalescer coalescer;

  @BeforeEach
  void setUp() {
    loopOwner.freezeTime();
    coalescer = new WriteCoalescer(loopOwner.eventLoop(), clock, DELAY.toNanos(), coalesced);
  }

  /** {@code n} connections ask to write, {@code apart} from each other; returns how many may write at once. */
  private int ask(int n, Duration apart) {
    int now = 0;
    for (int i = 0; i < n; i++) {
      int id = i;
      if (coalescer.writeNow(() -> written.add(id))) {
        now++;
      }
      clock.advance(apart);
    }
    return now;
  }

  private void passTime(Duration d) {
    loopOwner.advanceTimeBy(d.toNanos(), TimeUnit.NANOSECONDS);
    loopOwner.runScheduledPendingTasks();
  }

  @Test
  void aLoopWritingToFewConnectionsNeverWaits() {
    // 10,000 writes, one every 100 us: 50 per delay, under the 64 that make a loop busy.
    assertThat(ask(10_000, Duration.ofNanos(DELAY.toNanos() / 50))).isEqualTo(10_000);
    assertThat(coalescer.waiting()).isZero();
    assertThat(coalesced.sum()).isZero();
  }

  @Test
  void oneConnectionWrittenOverAndOverIsNotMany() {
    WriteCoalescer.Writer hot = () -> written.add(-1);
    WriteCoalescer.Writer other = () -> written.add(-2);
    for (int i = 0; i < 100_000; i++) { // two busy one-to-one flows, no time passing at all
      assertThat(coalescer.writeNow(hot)).isTrue();
      assertThat(coalescer.writeNow(other)).isTrue();
    }
    assertThat(coalescer.waiting()).isZero();
  }

  @Test
  void aBurstToManyConnectionsIsGatheredIntoOnePassAfterTheDelay() {
    int now = ask(1_000, Duration.ofNanos(1_000));
    assertThat(now).isEqualTo(WriteCoalescer.BUSY_WRITES - 1); // the 64th shows the loop busy
    assertThat(coalescer.waiting()).isEqualTo(1_000 - now);
    assertThat(written).isEmpty();

    passTime(DELAY.minusNanos(1));
    assertThat(written).as("nothing before the delay").isEmpty();
    passTime(Duration.ofNanos(1));
    assertThat(written).hasSize(1_000 - now).startsWith(now, now + 1).endsWith(999);
    assertThat(coalesced.sum()).isEqualTo(1_000 - now);
  }

  @Test
  void stillBusyItKeepsGatheringThenReturnsToWritingAtOnce() {
    ask(1_000, Duration.ofNanos(1_000));
    passTime(DELAY);
    // The pass wrote 937 connections: what comes next waits for the next pass.
    assertThat(ask(100, Duration.ZERO)).isZero();
    passTime(DELAY);
    assertThat(written).hasSize(937 + 100);
    // That pass wrote 100 (>= 64): still gathering. A quiet pass of 10 ends it.
    assertThat(ask(10, Duration.ZERO)).isZero();
    passTime(DELAY);
    assertThat(ask(5, Duration.ofMillis(1))).as("quiet again: at once").isEqualTo(5);
  }

  @Test
  void aLongPassLetsTheLoopRunItsOtherWorkBetweenTurns() {
    int now = ask(1_000, Duration.ofNanos(1_000));
    List<Integer> writtenWhenOtherWorkRan = new ArrayList<>();
    // Due with the pass, queued after it: runs after the pass's first turn, before its second.
    loopOwner.eventLoop().schedule(() -> writtenWhenOtherWorkRan.add(written.size()), DELAY.toNanos(),
        TimeUnit.NANOSECONDS);
    // Arrives during the pass: waits for the next one, which is a delay after this one ends.
    loopOwner.eventLoop().schedule(() -> coalescer.writeNow(() -> written.add(-1)), DELAY.toNanos(),
        TimeUnit.NANOSECONDS);

    passTime(DELAY);
    assertThat(writtenWhenOtherWorkRan).containsExactly(WriteCoalescer.WRITES_PER_TURN);
    assertThat(written).hasSize(1_000 - now).doesNotContain(-1);
    assertThat(coalescer.waiting()).isEqualTo(1);
    passTime(DELAY.minusNanos(1));
    assertThat(written).doesNotContain(-1);
    passTime(Duration.ofNanos(1));
    assertThat(written).endsWith(-1);
  }

  @Test
  void zeroDelayAlwaysWritesAtOnce() {
    WriteCoalescer off = new WriteCoalescer(loopOwner.eventLoop(), clock, 0, coalesced);
    for (int i = 0; i < 1_000; i++) {
      assertThat(off.writeNow(() -> written.add(0))).isTrue();
    }
    assertThat(off.waiting()).isZero();
  }
}
