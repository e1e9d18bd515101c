package io.longlink.server.internal;

import io.longlink.protocol.ErrorCode;
import io.longlink.protocol.SessionStatus;
import io.longlink.server.Limits;
import java.util.EnumMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a node counts as it runs: written on the hot paths (one {@code LongAdder} add, no lock),
 * read only when scraped ({@link GatewayMetrics}) or asked ({@link GatewayNode#stats()}). One
 * instance per node. Thread-safe.
 */
final class NodeCounters {
  /** Open connections, handshaking or not. */
  final LongAdder connections = new LongAdder();
  /** Messages to a client id with no session. */
  final LongAdder undeliverable = new LongAdder();
  final LongAdder resumed = new LongAdder();
  /** Resumes answered LOST: the session was gone, could not be resumed, or never existed. */
  final LongAdder resumesLost = new LongAdder();
  /** HELLOs asking to resume a session: clients coming back after a broken connection. */
  final LongAdder resumeAttempts = new LongAdder();
  final LongAdder sessionsExpired = new LongAdder();
  final LongAdder sessionsEvicted = new LongAdder();
  /** Connection closes by reason. */
  final EnumMap<CloseReason, LongAdder> closes = adders(CloseReason.class);
  /** Logins and resumes that succeeded, by the session status the client got. */
  final EnumMap<SessionStatus, LongAdder> handshakesOk = adders(SessionStatus.class);
  /** HELLOs answered with ERROR or GOAWAY, by code. */
  final EnumMap<ErrorCode, LongAdder> handshakesFailed = adders(ErrorCode.class);
  /** GOAWAYs sent to clients with an open session, by code. */
  final EnumMap<ErrorCode, LongAdder> goAways = adders(ErrorCode.class);
  /** Refusals per bound. */
  final EnumMap<Limits.Limit, LongAdder> limitHits = adders(Limits.Limit.class);
  /** Fresh tokens (AUTH) accepted and refused. */
  final LongAdder refreshes = new LongAdder();
  final LongAdder refreshesFailed = new LongAdder();
  /** Logins refused because the authenticator could not decide (a callout down). */
  final LongAdder authUnavailable = new LongAdder();
  /** Client frames refused by the authorizer (FORBIDDEN). */
  final LongAdder forbidden = new LongAdder();
  /** TLS handshakes that failed, by reason. */
  final EnumMap<TlsFailure, LongAdder> tlsFailures = adders(TlsFailure.class);
  /** WebSocket upgrades refused and WebSocket connections closed for bad messages, by reason. */
  final EnumMap<WsFailure, LongAdder> wsFailures = adders(WsFailure.class);
  /** PINGs received from clients: their heartbeats (and their own RTT checks). */
  final LongAdder heartbeats = new LongAdder();
  final LongAdder messagesIn = new LongAdder();
  final LongAdder messagesOut = new LongAdder();
  final LongAdder bytesIn = new LongAdder();
  final LongAdder bytesOut = new LongAdder();
  /** Connection writes gathered into an event loop's write pass ({@link WriteCoalescer}). */
  final LongAdder coalescedWrites = new LongAdder();
  /** Times a sender was held back for a lagging recipient ({@link SenderBackpressure}). */
  final LongAdder senderPauses = new LongAdder();

  private static <E extends Enum<E>> EnumMap<E, LongAdder> adders(Class<E> type) {
    EnumMap<E, LongAdder> m = new EnumMap<>(type);
    for (E e : type.getEnumConstants()) {
      m.put(e, new LongAdder());
    }
    return m;
  }
}
