package io.longlink.server;

import static io.longlink.server.ConfigChecks.check;

import io.longlink.protocol.FieldRule;
import java.time.Duration;
import java.util.Objects;

/**
 * Users with several devices (protocol version 3: a HELLO with a device id) and their presence.
 * Immutable; build with {@link #builder()}, whose checks name the bad value.
 *
 * @param maxSessionsPerUser most device sessions (live or kept for resume) one principal may have,
 *     cluster-wide; a login past it is handled by {@code limitPolicy}
 * @param limitPolicy what a login past {@code maxSessionsPerUser} does
 * @param presenceTopic where presence events go: a topic name in which {@code {principal}} stands
 *     for the user's principal (e.g. {@code presence/{principal}}); empty: no events (presence can
 *     still be asked for)
 * @param presenceGrace how long a device whose connection dropped still counts as online: a
 *     resume within it produces no offline/online pair
 * @param presenceLease in a cluster, how long a node's presence entries outlive its last renewal
 *     (every third of it): a node killed without a word makes its devices go offline within it
 */
public record DeviceOptions(int maxSessionsPerUser, LimitPolicy limitPolicy, String presenceTopic,
    Duration presenceGrace, Duration presenceLease) {

  /** What a device login past {@link #maxSessionsPerUser} does. */
  public enum LimitPolicy {
    /** The new login gets ERROR LIMIT_EXCEEDED; the user's sessions stay as they are. */
    REFUSE_NEWEST,
    /** The user's oldest device session ends (its connection gets GOAWAY REPLACED); the new one logs in. */
    END_OLDEST
  }

  public static final int DEFAULT_MAX_SESSIONS_PER_USER = 10;
  public static final Duration DEFAULT_PRESENCE_GRACE = Duration.ofSeconds(10);
  public static final Duration DEFAULT_PRESENCE_LEASE = Duration.ofSeconds(30);
  /** What {@code {principal}} in {@link #presenceTopic} stands for. */
  public static final String PRINCIPAL_PLACEHOLDER = "{principal}";

  public DeviceOptions {
    check(maxSessionsPerUser >= 1, "maxSessionsPerUser", maxSessionsPerUser, ">= 1");
    Objects.requireNonNull(limitPolicy, "limitPolicy");
    Objects.requireNonNull(presenceTopic, "presenceTopic");
    check(presenceTopic.isEmpty() || FieldRule.TOPIC.violation(presenceTopic.replace(PRINCIPAL_PLACEHOLDER, "x")) == null,
        "presenceTopic", presenceTopic, "empty, or a topic name (1..256 bytes, no control characters) in which "
            + PRINCIPAL_PLACEHOLDER + " may stand for the principal");
    Objects.requireNonNull(presenceGrace, "presenceGrace");
    check(!presenceGrace.isNegative() && presenceGrace.toMillis() <= Integer.MAX_VALUE, "presenceGrace", presenceGrace,
        ">= 0 and < 2^31 ms");
    Objects.requireNonNull(presenceLease, "presenceLease");
    check(presenceLease.toMillis() >= 300, "presenceLease", presenceLease, ">= 300ms");
  }

  /** The defaults: 10 sessions per user (refuse the newest), no presence topic, 10 s grace, 30 s lease. */
  public static DeviceOptions defaults() {
    return builder().build();
  }

  /** The presence topic of {@code principal}; empty if events are off. */
  public String presenceTopicOf(String principal) {
    return presenceTopic.replace(PRINCIPAL_PLACEHOLDER, principal);
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().maxSessionsPerUser(maxSessionsPerUser).limitPolicy(limitPolicy).presenceTopic(presenceTopic)
        .presenceGrace(presenceGrace).presenceLease(presenceLease);
  }

  /** Builds {@link DeviceOptions}; unset values take the defaults. */
  public static final class Builder {
    private int maxSessionsPerUser = DEFAULT_MAX_SESSIONS_PER_USER;
    private LimitPolicy limitPolicy = LimitPolicy.REFUSE_NEWEST;
    private String presenceTopic = "";
    private Duration presenceGrace = DEFAULT_PRESENCE_GRACE;
    private Duration presenceLease = DEFAULT_PRESENCE_LEASE;

    public Builder maxSessionsPerUser(int n) {
      this.maxSessionsPerUser = n;
      return this;
    }

    public Builder limitPolicy(LimitPolicy policy) {
      this.limitPolicy = policy;
      return this;
    }

    public Builder presenceTopic(String topic) {
      this.presenceTopic = topic;
      return this;
    }

    public Builder presenceGrace(Duration grace) {
      this.presenceGrace = grace;
      return this;
    }

    public Builder presenceLease(Duration lease) {
      this.presenceLease = lease;
      return this;
    }

    public DeviceOptions build() {
      return new DeviceOptions(maxSessionsPerUser, limitPolicy, presenceTopic, presenceGrace, presenceLease);
    }
  }
}
