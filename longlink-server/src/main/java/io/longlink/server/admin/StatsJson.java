package io.longlink.server.admin;

import io.longlink.server.LonglinkServer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /v1/stats}: a JSON summary of the node, read from its metrics (the same numbers
 * {@code /metrics} exports, so the two never disagree). Counters by a tag list only non-zero values.
 */
final class StatsJson {
  private StatsJson() {}

  static String of(LonglinkServer node) throws com.fasterxml.jackson.core.JsonProcessingException {
    MeterRegistry r = node.meterRegistry();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("state", node.state().name().toLowerCase());
    m.put("connections", (long) gauge(r, "longlink.connections.open", null, null));
    Map<String, Object> sessions = new LinkedHashMap<>();
    sessions.put("attached", (long) gauge(r, "longlink.sessions", "state", "attached"));
    sessions.put("detached", (long) gauge(r, "longlink.sessions", "state", "detached"));
    m.put("sessions", sessions);
    m.put("topics", (long) gauge(r, "longlink.topics", null, null));
    Map<String, Object> online = new LinkedHashMap<>();
    online.put("sessions", (long) gauge(r, "longlink.presence.sessions", "scope", "node"));
    online.put("users", (long) gauge(r, "longlink.presence.users", "scope", "node"));
    online.put("clusterSessions", (long) gauge(r, "longlink.presence.sessions", "scope", "cluster"));
    online.put("clusterUsers", (long) gauge(r, "longlink.presence.users", "scope", "cluster"));
    m.put("online", online);
    Map<String, Object> handshakes = new LinkedHashMap<>();
    handshakes.put("ok", byTag(r, "longlink.handshakes", "session"));
    handshakes.put("failed", byTag(r, "longlink.handshakes.failed", "reason"));
    m.put("handshakes", handshakes);
    m.put("closes", byTag(r, "longlink.connection.closes", "reason"));
    m.put("goaways", byTag(r, "longlink.goaways", "reason"));
    m.put("limitHits", byTag(r, "longlink.limit.hits", "limit"));
    m.put("tlsHandshakeFailures", byTag(r, "longlink.tls.handshake.failures", "reason"));
    Map<String, Object> messages = new LinkedHashMap<>();
    messages.put("in", count(r, "longlink.messages.in"));
    messages.put("out", count(r, "longlink.messages.out"));
    messages.put("dropped", count(r, "longlink.messages.dropped"));
    messages.put("undeliverable", count(r, "longlink.messages.undeliverable"));
    messages.put("buffered", (long) gauge(r, "longlink.replay.buffer.messages", null, null));
    messages.put("bufferedBytes", (long) gauge(r, "longlink.replay.buffer", null, null));
    m.put("messages", messages);
    Map<String, Object> bytes = new LinkedHashMap<>();
    bytes.put("in", count(r, "longlink.received"));
    bytes.put("out", count(r, "longlink.sent"));
    m.put("bytes", bytes);
    m.put("resumes", byTag(r, "longlink.resumes", "result"));
    m.put("reconnects", count(r, "longlink.reconnects"));
    m.put("requests", byTag(r, "longlink.requests", "result"));
    m.put("heartbeatRtt", rtt(r));
    double pending = 0;
    for (Meter meter : r.find("longlink.event.loop.pending.tasks").meters()) {
      pending += ((Gauge) meter).value();
    }
    m.put("eventLoopPendingTasks", (long) pending);
    return AdminServer.JSON.writeValueAsString(m);
  }

  private static double gauge(MeterRegistry r, String name, String tag, String value) {
    Gauge g = tag == null ? r.find(name).gauge() : r.find(name).tag(tag, value).gauge();
    return g == null ? 0 : g.value();
  }

  private static long count(MeterRegistry r, String name) {
    long n = 0;
    for (Meter meter : r.find(name).meters()) {
      n += (long) ((FunctionCounter) meter).count();
    }
    return n;
  }

  private static Map<String, Long> byTag(MeterRegistry r, String name, String tag) {
    Map<String, Long> out = new LinkedHashMap<>();
    for (Meter meter : r.find(name).meters()) {
      long n = (long) ((FunctionCounter) meter).count();
      if (n != 0) {
        out.merge(meter.getId().getTag(tag), n, Long::sum);
      }
    }
    return out;
  }

  private static Map<String, Object> rtt(MeterRegistry r) {
    Map<String, Object> out = new LinkedHashMap<>();
    Timer t = r.find("longlink.heartbeat.rtt").timer();
    if (t == null) {
      return out;
    }
    var snapshot = t.takeSnapshot();
    out.put("count", snapshot.count());
    for (ValueAtPercentile p : snapshot.percentileValues()) {
      out.put("p" + Math.round(p.percentile() * 100) + "Ms", Math.round(p.value(TimeUnit.MILLISECONDS) * 1000) / 1000.0);
    }
    out.put("maxMs", Math.round(snapshot.max(TimeUnit.MILLISECONDS) * 1000) / 1000.0);
    return out;
  }
}
