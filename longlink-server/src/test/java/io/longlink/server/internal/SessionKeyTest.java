package io.longlink.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A session's key, client id and device id: what the session map, Redis keys and senders see. */
class SessionKeyTest {
  @ParameterizedTest(name = "client {0}, device [{1}], principal {2}")
  @CsvSource(nullValues = "-", value = {
      // clientId, deviceId, principal, expected clientId() is the principal's string itself
      "alice, '', alice, false", // no device: the key is the client id
      "alice, phone, alice, true", // a device whose client id is its principal: no copy per call
      "alice, phone, al, false", // the principal is a prefix of the client id: cut from the key
      "alice, phone, bob, false", // another principal (a backend's rule): cut from the key
      "a, b, a, true",
  })
  void keyAndIdsRoundTrip(String clientId, String deviceId, String principal, boolean sharesPrincipal) {
    String key = Session.keyOf(clientId, deviceId);
    Session s = new Session(key, principal, SessionIds.next(), null, 0);

    assertThat(s.clientId()).isEqualTo(clientId);
    assertThat(s.deviceId()).isEqualTo(deviceId);
    assertThat(s.isDevice()).isEqualTo(!deviceId.isEmpty());
    assertThat(Session.clientIdOf(key)).isEqualTo(clientId);
    assertThat(Session.deviceIdOf(key)).isEqualTo(deviceId);
    assertThat(s.clientId() == principal).isEqualTo(sharesPrincipal);
    if (deviceId.isEmpty()) {
      assertThat(s.clientId()).isSameAs(key);
    }
  }
}
