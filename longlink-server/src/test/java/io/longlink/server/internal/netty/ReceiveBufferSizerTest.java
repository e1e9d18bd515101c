package io.longlink.server.internal.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class ReceiveBufferSizerTest {
  private final ReceiveBufferSizer.Handle handle = (ReceiveBufferSizer.Handle) new ReceiveBufferSizer().newHandle();
  private final DefaultChannelConfig config = new DefaultChannelConfig(new EmbeddedChannel());

  /** One read loop that reads {@code bytes} in reads of at most the current guess. */
  private void readLoop(int bytes) {
    handle.reset(config);
    int left = bytes;
    do {
      int attempt = handle.guess();
      handle.attemptedBytesRead(attempt);
      int got = Math.min(attempt, left);
      left -= got;
      handle.lastBytesRead(got);
      handle.incMessagesRead(1);
    } while (left > 0 && handle.continueReading());
    handle.readComplete();
  }

  @Test
  void growsAtOnceWhenAReadFillsTheBuffer() {
    assertThat(handle.guess()).isEqualTo(2048);
    readLoop(2048);
    assertThat(handle.guess()).isEqualTo(4096);
    readLoop(100_000);
    assertThat(handle.guess()).isEqualTo(65536); // capped
    readLoop(1_000_000);
    assertThat(handle.guess()).isEqualTo(65536);
  }

  @Test
  void shrinksOnlyAfterTwoSmallReadLoopsInARow() {
    readLoop(100);
    assertThat(handle.guess()).isEqualTo(2048);
    readLoop(100);
    assertThat(handle.guess()).isEqualTo(1024);
    readLoop(100);
    readLoop(1000); // not small for 1024: the streak restarts
    readLoop(100);
    assertThat(handle.guess()).isEqualTo(1024);
    for (int i = 0; i < 40; i++) {
      readLoop(10);
    }
    assertThat(handle.guess()).isEqualTo(64); // floor
  }

  @Test
  void stopsReadingWhenTheBufferWasNotFilledOrAfterTheLoopLimit() {
    handle.reset(config);
    handle.attemptedBytesRead(2048);
    handle.lastBytesRead(10);
    handle.incMessagesRead(1);
    assertThat(handle.continueReading()).isFalse(); // socket drained
    handle.reset(config);
    for (int i = 0; i < ReceiveBufferSizer.MAX_READS_PER_LOOP; i++) {
      handle.attemptedBytesRead(handle.guess());
      handle.lastBytesRead(handle.guess());
      handle.incMessagesRead(1);
      assertThat(handle.continueReading()).isEqualTo(i + 1 < ReceiveBufferSizer.MAX_READS_PER_LOOP);
    }
    handle.reset(config);
    handle.attemptedBytesRead(2048);
    handle.lastBytesRead(-1); // EOF
    assertThat(handle.continueReading()).isFalse();
    config.setAutoRead(false);
    handle.reset(config);
    handle.attemptedBytesRead(64);
    handle.lastBytesRead(64);
    assertThat(handle.continueReading()).isFalse();
  }
}
