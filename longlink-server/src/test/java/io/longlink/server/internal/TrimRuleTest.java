package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TrimRuleTest {
  @ParameterizedTest(name = "trimmed {0}, acked {1}: due {2}")
  @CsvSource({
      // nothing new acknowledged
      "0, 0, false",
      "100, 100, false",
      "100, 90, false",
      // acknowledgements gathering: left to the sweep
      "0, 1, false",
      "0, 63, false",
      "100, 163, false",
      // enough gathered: trimmed at once
      "0, 64, true",
      "100, 164, true",
      "100, 400, true",
  })
  void dueOnceSixtyFourAcknowledgedMessagesGathered(long trimmed, long acked, boolean due) {
    assertThat(TrimRule.due(trimmed, acked)).isEqualTo(due);
  }
}
