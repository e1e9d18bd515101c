package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SessionIdsTest {
  @Test
  void roundTripsThroughItsHexFormKeepingLeadingZeros() {
    SessionIds id = new SessionIds(0x00000000000000ffL, 0xf000000000000001L);
    assertThat(id.toString()).isEqualTo("00000000000000fff000000000000001");
    assertThat(SessionIds.parse(id.toString())).isEqualTo(id);
    for (int i = 0; i < 1000; i++) {
      SessionIds r = SessionIds.next();
      assertThat(r.toString()).matches("[0-9a-f]{32}");
      assertThat(SessionIds.parse(r.toString())).isEqualTo(r);
    }
  }

  @Test
  void anythingElseIsNoSessionId() {
    assertThat(SessionIds.parse("")).isNull();
    assertThat(SessionIds.parse("0123456789abcdef0123456789abcde")).isNull(); // 31
    assertThat(SessionIds.parse("0123456789abcdef0123456789abcdeg")).isNull();
    assertThat(SessionIds.parse("+123456789abcdef0123456789abcdef")).isNull();
  }
}
