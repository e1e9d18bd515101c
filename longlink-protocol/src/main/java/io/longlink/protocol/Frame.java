package io.longlink.protocol;

import java.util.Arrays;
import java.util.Objects;

/**
 * One protocol frame (docs/PROTOCOL.md section 4). Frames are immutable values; field ranges are
 * checked when a frame is encoded ({@link FrameCodec}) and when it is decoded, not here, so a
 * decoder can report a bad value with the right error code.
 */
public sealed interface Frame
    permits Frame.Hello,
        Frame.Welcome,
        Frame.Ping,
        Frame.Pong,
        Frame.Heartbeat,
        Frame.Data,
        Frame.Ack,
        Frame.Subscribe,
        Frame.Unsubscribe,
        Frame.Gap,
        Frame.Reject,
        Frame.Request,
        Frame.Response,
        Frame.Cancel,
        Frame.GoAway,
        Frame.Error,
        Frame.Close,
        Frame.Reauth,
        Frame.Auth {

  /**
   * The protocol version of a client that does not adapt its heartbeat: HELLO and WELCOME exactly as
   * version 1 always had them.
   */
  int VERSION = 1;

  /**
   * Version 2: the same frames as version 1, a WELCOME that also carries the heartbeat bounds and the
   * HEARTBEAT frame a client sends to move its interval within them (docs/PROTOCOL.md). A server speaks
   * 1 or 2, whichever the HELLO asked for.
   */
  int VERSION_ADAPTIVE_HEARTBEAT = 2;

  /**
   * Version 3: version 2 plus devices. HELLO also carries a {@code deviceId}: a client that names one
   * is one of its principal's devices, reachable with the USER target kind (docs/PROTOCOL.md 5.7).
   */
  int VERSION_DEVICES = 3;

  /** The highest version this codec speaks. */
  int MAX_VERSION = VERSION_DEVICES;

  FrameType type();

  /** Sequenced frames (DATA, SUBSCRIBE, UNSUBSCRIBE) carry a per-direction sequence number. */
  interface Sequenced {
    long seq();
  }

  /**
   * First frame of a connection: who the client is and which session it wants. {@code
   * attemptStamp} increases with every connection attempt of the client, so a late HELLO from an
   * abandoned attempt cannot take a session from a newer connection.
   */
  record Hello(int version, String clientId, String token, String resumeSessionId, long lastReceivedSeq,
      long attemptStamp, String deviceId) implements Frame {
    public Hello {
      Objects.requireNonNull(clientId, "clientId");
      Objects.requireNonNull(token, "token");
      Objects.requireNonNull(resumeSessionId, "resumeSessionId");
      Objects.requireNonNull(deviceId, "deviceId");
      if (!deviceId.isEmpty() && version < VERSION_DEVICES) {
        throw new IllegalArgumentException("deviceId: \"" + deviceId + "\" in a version " + version
            + " HELLO (expected: version >= " + VERSION_DEVICES + ")");
      }
    }

    /** A HELLO without a device id: what versions 1 and 2 carry. */
    public Hello(int version, String clientId, String token, String resumeSessionId, long lastReceivedSeq,
        long attemptStamp) {
      this(version, clientId, token, resumeSessionId, lastReceivedSeq, attemptStamp, "");
    }

    /** A HELLO for a new session. */
    public static Hello newSession(String clientId, String token) {
      return new Hello(VERSION, clientId, token, "", 0, 0);
    }

    /**
     * A HELLO for a new session of device {@code deviceId}: version 3; without a device (empty), as
     * {@link #newSession(String, String)}.
     */
    public static Hello newSession(String clientId, String token, String deviceId) {
      return deviceId.isEmpty() ? newSession(clientId, token)
          : new Hello(VERSION_DEVICES, clientId, token, "", 0, 0, deviceId);
    }

    @Override
    public FrameType type() {
      return FrameType.HELLO;
    }

    @Override
    public String toString() {
      // Never print the token.
      return "Hello[version=" + version + ", clientId=" + clientId + ", token=" + (token.isEmpty() ? "" : "***")
          + ", resumeSessionId=" + resumeSessionId + ", lastReceivedSeq=" + lastReceivedSeq + ", attemptStamp="
          + attemptStamp + (deviceId.isEmpty() ? "" : ", deviceId=" + deviceId) + "]";
    }
  }

  /**
   * The server's acceptance of a HELLO, with the settings the client must follow. {@code
   * heartbeatMinMs} and {@code heartbeatMaxMs} are on the wire from version 2 on; a version 1 WELCOME
   * decodes with both equal to {@code heartbeatIntervalMs} (the interval is fixed).
   */
  record Welcome(
      int version,
      String sessionId,
      SessionStatus sessionStatus,
      long lastReceivedSeq,
      long lostMessages,
      int heartbeatIntervalMs,
      int heartbeatMisses,
      int maxFrameSize,
      int backoffInitialMs,
      int backoffMaxMs,
      int sessionRetentionMs,
      int heartbeatMinMs,
      int heartbeatMaxMs)
      implements Frame {
    public Welcome {
      Objects.requireNonNull(sessionId, "sessionId");
      Objects.requireNonNull(sessionStatus, "sessionStatus");
    }

    /** A WELCOME with a fixed heartbeat interval (bounds equal to it): what version 1 carries. */
    public Welcome(int version, String sessionId, SessionStatus sessionStatus, long lastReceivedSeq, long lostMessages,
        int heartbeatIntervalMs, int heartbeatMisses, int maxFrameSize, int backoffInitialMs, int backoffMaxMs,
        int sessionRetentionMs) {
      this(version, sessionId, sessionStatus, lastReceivedSeq, lostMessages, heartbeatIntervalMs, heartbeatMisses,
          maxFrameSize, backoffInitialMs, backoffMaxMs, sessionRetentionMs, heartbeatIntervalMs, heartbeatIntervalMs);
    }

    @Override
    public FrameType type() {
      return FrameType.WELCOME;
    }
  }

  /** Liveness probe; the receiver answers with a PONG carrying the same timestamp. */
  record Ping(long timestamp) implements Frame {
    @Override
    public FrameType type() {
      return FrameType.PING;
    }
  }

  /** Answer to a PING. */
  record Pong(long timestamp) implements Frame {
    @Override
    public FrameType type() {
      return FrameType.PONG;
    }
  }

  /**
   * Client to server, version 2: "from now on I send a frame at least every {@code intervalMs}". The
   * server clamps it to the bounds its WELCOME announced and expects traffic within that interval ×
   * {@code heartbeatMisses}.
   */
  record Heartbeat(int intervalMs) implements Frame {
    @Override
    public FrameType type() {
      return FrameType.HEARTBEAT;
    }
  }

  /** An application message. {@code from} is empty on the client-to-server direction. */
  record Data(long seq, TargetKind targetKind, String target, String from, byte[] payload)
      implements Frame, Sequenced {
    public Data {
      Objects.requireNonNull(targetKind, "targetKind");
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(from, "from");
      Objects.requireNonNull(payload, "payload");
    }

    @Override
    public FrameType type() {
      return FrameType.DATA;
    }

    /** The same message with another sequence number and sender. */
    public Data withSeqAndFrom(long newSeq, String newFrom) {
      return new Data(newSeq, targetKind, target, newFrom, payload);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Data d
          && seq == d.seq
          && targetKind == d.targetKind
          && target.equals(d.target)
          && from.equals(d.from)
          && Arrays.equals(payload, d.payload);
    }

    @Override
    public int hashCode() {
      return Objects.hash(seq, targetKind, target, from) * 31 + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
      return "Data[seq=" + seq + ", " + targetKind + " " + target + ", from=" + from + ", "
          + payload.length + " bytes]";
    }
  }

  /** Cumulative acknowledgement of the other direction's sequenced frames. */
  record Ack(long seq) implements Frame {
    @Override
    public FrameType type() {
      return FrameType.ACK;
    }
  }

  /**
   * Server to client: the messages numbered {@code fromSeq..toSeq} (inclusive) were dropped under
   * the server's drop-oldest slow-consumer policy and will never be sent. The receiver moves its
   * {@code lastReceived} to {@code toSeq} and tells its application how many it lost.
   */
  /**
   * The server processed the client's sequenced frame {@code seq} but could not deliver it (e.g.
   * the cluster service holding the target was unavailable): the frame is acknowledged by the
   * next ACK like any other, and the sender learns it failed instead of it being dropped silently.
   */
  record Reject(long seq, ErrorCode code, int rawCode, String message) implements Frame {
    public Reject {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
    }

    public Reject(long seq, ErrorCode code, String message) {
      this(seq, code, code.code(), message);
    }

    @Override
    public FrameType type() {
      return FrameType.REJECT;
    }
  }

  record Gap(long fromSeq, long toSeq) implements Frame {
    public Gap {
      if (fromSeq < 1 || toSeq < fromSeq) {
        throw new IllegalArgumentException("gap " + fromSeq + ".." + toSeq + " (expected: 1 <= fromSeq <= toSeq)");
      }
    }

    /** How many messages the gap covers. */
    public long count() {
      return toSeq - fromSeq + 1;
    }

    @Override
    public FrameType type() {
      return FrameType.GAP;
    }
  }

  /**
   * A request with a deadline (docs/PROTOCOL.md section 9). Client to server: {@code target} is
   * empty for the gateway's request handler, or the client id of another client to ask, and
   * {@code from} is empty. Server to client: a request forwarded from client {@code from}, under
   * an id the gateway chose. Not sequenced: a request lives on one connection and dies with it.
   * {@code deadline} is absolute (Unix epoch milliseconds): a request past it is dropped unprocessed.
   */
  record Request(long requestId, long deadline, String target, String from, byte[] payload) implements Frame {
    public Request {
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(from, "from");
      Objects.requireNonNull(payload, "payload");
    }

    /** A request for the gateway's own request handler. */
    public Request(long requestId, long deadline, byte[] payload) {
      this(requestId, deadline, "", "", payload);
    }

    @Override
    public FrameType type() {
      return FrameType.REQUEST;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Request r && requestId == r.requestId && deadline == r.deadline && target.equals(r.target)
          && from.equals(r.from) && Arrays.equals(payload, r.payload);
    }

    @Override
    public int hashCode() {
      return Long.hashCode(requestId) * 31 + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
      return "Request[id=" + requestId + ", deadline=" + deadline + (target.isEmpty() ? "" : ", to " + target)
          + (from.isEmpty() ? "" : ", from " + from) + ", " + payload.length + " bytes]";
    }
  }

  /**
   * The answer to request {@code requestId} (server to the asking client; from an asked client to
   * the server): {@link ErrorCode#NORMAL} with the handler's payload, or an error code with a
   * message.
   */
  record Response(long requestId, ErrorCode code, int rawCode, String message, byte[] payload) implements Frame {
    public Response {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
      Objects.requireNonNull(payload, "payload");
    }

    /** A successful answer. */
    public static Response ok(long requestId, byte[] payload) {
      return new Response(requestId, ErrorCode.NORMAL, 0, "", payload);
    }

    /** A failed answer. */
    public static Response failed(long requestId, ErrorCode code, String message) {
      return new Response(requestId, code, code.code(), message, new byte[0]);
    }

    @Override
    public FrameType type() {
      return FrameType.RESPONSE;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Response r && requestId == r.requestId && code == r.code && rawCode == r.rawCode
          && message.equals(r.message) && Arrays.equals(payload, r.payload);
    }

    @Override
    public int hashCode() {
      return Long.hashCode(requestId) * 31 + rawCode;
    }

    @Override
    public String toString() {
      return "Response[id=" + requestId + ", " + code + (message.isEmpty() ? "" : " " + message) + ", "
          + payload.length + " bytes]";
    }
  }

  /**
   * The sender of a request gave up on it (client to server), or the asking client did (server to
   * the client that was asked): drop it if not done.
   */
  record Cancel(long requestId) implements Frame {
    @Override
    public FrameType type() {
      return FrameType.CANCEL;
    }
  }

  /** Subscribe the session to a topic. */
  record Subscribe(long seq, String topic) implements Frame, Sequenced {
    public Subscribe {
      Objects.requireNonNull(topic, "topic");
    }

    @Override
    public FrameType type() {
      return FrameType.SUBSCRIBE;
    }
  }

  /** Unsubscribe the session from a topic. */
  record Unsubscribe(long seq, String topic) implements Frame, Sequenced {
    public Unsubscribe {
      Objects.requireNonNull(topic, "topic");
    }

    @Override
    public FrameType type() {
      return FrameType.UNSUBSCRIBE;
    }
  }

  /** The server asks the client to leave: why, how long to wait, and where to go instead. */
  record GoAway(ErrorCode code, int rawCode, String reason, int reconnectDelayMs, String alternativeEndpoint)
      implements Frame {
    public GoAway {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(alternativeEndpoint, "alternativeEndpoint");
    }

    public GoAway(ErrorCode code, String reason, int reconnectDelayMs, String alternativeEndpoint) {
      this(code, code.code(), reason, reconnectDelayMs, alternativeEndpoint);
    }

    @Override
    public FrameType type() {
      return FrameType.GOAWAY;
    }
  }

  /** A fatal error; the sender closes the connection after it. */
  record Error(ErrorCode code, int rawCode, String message) implements Frame {
    public Error {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
    }

    public Error(ErrorCode code, String message) {
      this(code, code.code(), message);
    }

    @Override
    public FrameType type() {
      return FrameType.ERROR;
    }
  }

  /** Ends the session (not only the connection). */
  record Close(ErrorCode code, int rawCode, String reason) implements Frame {
    public Close {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(reason, "reason");
    }

    public Close(ErrorCode code, String reason) {
      this(code, code.code(), reason);
    }

    @Override
    public FrameType type() {
      return FrameType.CLOSE;
    }
  }

  /**
   * Server to client: the connection's token expires in {@code expiresInMs}; send a fresh one
   * ({@link Auth}) before then, or the server ends the connection with GOAWAY TOKEN_EXPIRED.
   */
  record Reauth(int expiresInMs) implements Frame {
    @Override
    public FrameType type() {
      return FrameType.REAUTH;
    }
  }

  /** Client to server: a fresh token for the same principal, replacing the connection's current one. */
  record Auth(String token) implements Frame {
    public Auth {
      Objects.requireNonNull(token, "token");
    }

    @Override
    public FrameType type() {
      return FrameType.AUTH;
    }

    @Override
    public String toString() {
      return "Auth[token=***]"; // never print the token
    }
  }
}
