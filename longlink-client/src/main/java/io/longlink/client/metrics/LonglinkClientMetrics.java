package io.longlink.client.metrics;

import io.longlink.client.ClientState;
import io.longlink.client.LonglinkClient;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;

/**
 * A client's numbers in the application's Micrometer registry (Micrometer is an optional
 * dependency of the SDK: only this package needs it). Tagged {@code client=<client id>}:
 * {@code longlink_client_state{state}} (1 for the current state), {@code longlink_client_rtt_seconds},
 * {@code longlink_client_queued_messages}, {@code longlink_client_reconnects_total},
 * {@code longlink_client_messages_dropped_total}, {@code longlink_client_late_responses_total}.
 *
 * <pre>{@code new LonglinkClientMetrics(client).bindTo(registry);}</pre>
 */
public final class LonglinkClientMetrics implements MeterBinder {
  private final LonglinkClient client;

  public LonglinkClientMetrics(LonglinkClient client) {
    this.client = client;
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    Tags tags = Tags.of(Tag.of("client", client.clientId()));
    for (ClientState s : ClientState.values()) {
      Gauge.builder("longlink.client.state", client, c -> c.state() == s ? 1 : 0).tags(tags).tag("state", s.name())
          .description("1 for the client's current state").register(registry);
    }
    Gauge.builder("longlink.client.rtt", client, c -> {
      Duration rtt = c.lastRtt();
      return rtt == null ? Double.NaN : rtt.toNanos() / 1e9;
    }).tags(tags).baseUnit("seconds").description("Round trip of the last heartbeat").register(registry);
    Gauge.builder("longlink.client.queued.messages", client, LonglinkClient::queuedMessages).tags(tags)
        .description("Sends queued or awaiting the gateway's acknowledgement").register(registry);
    Gauge.builder("longlink.client.heartbeat.interval", client, c -> {
      java.time.Duration d = c.heartbeatInterval();
      return d == null ? Double.NaN : d.toMillis() / 1000.0;
    }).tags(tags).baseUnit("seconds").description("The heartbeat interval in use: the gateway's, or the one learned for "
        + "this network (adaptive heartbeat)").register(registry);
    FunctionCounter.builder("longlink.client.nat.expiries", client, LonglinkClient::natExpiries).tags(tags)
        .description("Connections closed because the PING after an idle interval went unanswered (NAT expiry)")
        .register(registry);
    FunctionCounter.builder("longlink.client.reconnects", client, LonglinkClient::reconnects).tags(tags)
        .description("Connections lost and reconnected").register(registry);
    FunctionCounter.builder("longlink.client.messages.dropped", client, LonglinkClient::messagesDroppedByServer)
        .tags(tags).description("Messages the gateway dropped for this client (drop-oldest policy)").register(registry);
    FunctionCounter.builder("longlink.client.late.responses", client, LonglinkClient::lateResponses).tags(tags)
        .description("Answers that came after their request's deadline").register(registry);
  }
}
