package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TrimRuleTest {
  @ParameterizedTest(name = "trimmed {0}, acked {1}, last sent {2}: due {3}")
  @CsvSource({
      // nothing new acknowledged
      "0, 0, 0, false",
      "100, 100, 500, false",
      "100, 90, 500, false",
      // acknowledgements gathering while more is unacknowledged
      "0, 1, 500, false",
      "0, 63, 500, false",
      "0, 64, 500, true",
      "100, 163, 500, false",
      "100, 164, 500, true",
      "100, 400, 500, true",
      // the client has everything sent to it: trim what is left at once
      "0, 1, 1, true",
      "100, 101, 101, true",
      "100, 150, 150, true",
  })
  void trimsEverySixtyFourOrWhenCaughtUp(long trimmed, long acked, long lastSent, boolean due) {
    assertThat(TrimRule.due(trimmed, acked, lastSent)).isEqualTo(due);
  }
}
