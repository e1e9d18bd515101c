package io.longlink.server;

/**
 * Bounds that keep one bad or hostile client from hurting the others. A client past a bound gets
 * an ERROR frame naming the bound ({@code LIMIT_EXCEEDED} or {@code RATE_LIMITED}) and is
 * disconnected; each refusal is counted ({@link LonglinkServer#limitHits(Limit)}). Zero turns a
 * bound off. The handshake timeout and the frame size limit live in {@link ServerConfig}; the
 * bound on messages a client has not acknowledged is the session's replay buffer.
 *
 * <p>Per-address bounds are off by default: behind carrier-grade NAT thousands of clients share one
 * address, and tracking an address costs memory for as long as it has connections (plus one
 * second). Turn them on where clients have their own addresses.
 *
 * @param maxConnections open connections per node, handshaking or not (default 1,000,000)
 * @param maxConnectionsPerAddress open connections from one remote IP (default off)
 * @param maxNewConnectionsPerSecondPerAddress new connections per second from one remote IP, with a
 *     burst of the same size (default off)
 * @param maxInboundMessagesPerSecond frames per second one connection may send, counted per
 *     one-second window (default 10,000; at most 32,767)
 * @param maxInboundBytesPerSecond bytes per second one connection may send, per one-second window
 *     (default 16 MiB)
 * @param maxSubscriptions topics one session may subscribe to (default 1,000)
 * @param maxHandshakesPerSecond admission control: logins and resumes per second per node, a token
 *     bucket (default 10,000). Past it a HELLO is answered with {@code GOAWAY RATE_LIMITED} and a
 *     reconnect delay drawn uniformly from {@code [0, handshakeRetryWindowMillis]}, so a crowd
 *     returning at once is paced instead of dropped or synchronised
 * @param handshakeBurst the bucket's size (default 20,000)
 * @param handshakeRetryWindowMillis the spread of the retry-after of refused handshakes (default 10 s)
 */
public record Limits(
    int maxConnections,
    int maxConnectionsPerAddress,
    int maxNewConnectionsPerSecondPerAddress,
    int maxInboundMessagesPerSecond,
    int maxInboundBytesPerSecond,
    int maxSubscriptions,
    int maxHandshakesPerSecond,
    int handshakeBurst,
    int handshakeRetryWindowMillis) {

  /** The bounds, for counting refusals. */
  public enum Limit {
    CONNECTIONS,
    CONNECTIONS_PER_ADDRESS,
    NEW_CONNECTIONS_PER_ADDRESS,
    INBOUND_MESSAGES,
    INBOUND_BYTES,
    SUBSCRIPTIONS,
    HANDSHAKES,
    /**
     * Messages the client has not acknowledged passed its session's replay buffer
     * ({@link ServerConfig#replayBufferMessages()}, {@link ServerConfig#replayBufferBytes()}) under
     * the disconnect slow-consumer policy: the client was cut with SLOW_CONSUMER.
     */
    PENDING_ACKS,
    /** A device login past {@link DeviceOptions#maxSessionsPerUser()} (refused, or the user's oldest session ended). */
    SESSIONS_PER_USER
  }

  public Limits {
    check(maxConnections, "maxConnections");
    check(maxConnectionsPerAddress, "maxConnectionsPerAddress");
    check(maxNewConnectionsPerSecondPerAddress, "maxNewConnectionsPerSecondPerAddress");
    check(maxInboundMessagesPerSecond, "maxInboundMessagesPerSecond");
    if (maxInboundMessagesPerSecond > Short.MAX_VALUE) {
      throw new IllegalArgumentException("maxInboundMessagesPerSecond: " + maxInboundMessagesPerSecond
          + " (expected: 0..32767; counted in two bytes per connection)");
    }
    check(maxInboundBytesPerSecond, "maxInboundBytesPerSecond");
    check(maxSubscriptions, "maxSubscriptions");
    check(maxHandshakesPerSecond, "maxHandshakesPerSecond");
    check(handshakeBurst, "handshakeBurst");
    check(handshakeRetryWindowMillis, "handshakeRetryWindowMillis");
    if (maxHandshakesPerSecond > 0 && handshakeBurst < 1) {
      throw new IllegalArgumentException("handshakeBurst: " + handshakeBurst + " (expected: >= 1 when "
          + "maxHandshakesPerSecond is on)");
    }
  }

  private static void check(int v, String name) {
    ConfigChecks.check(v >= 0, name, v, ">= 0; 0 turns it off");
  }

  /** The defaults above. */
  public static Limits defaults() {
    return new Limits(1_000_000, 0, 0, 10_000, 16 << 20, 1_000, 10_000, 20_000, 10_000);
  }

  /** Every bound off: for benchmarks that measure the gateway itself. */
  public static Limits none() {
    return new Limits(0, 0, 0, 0, 0, 0, 0, 0, 0);
  }

  public Limits withMaxConnections(int v) {
    return new Limits(v, maxConnectionsPerAddress, maxNewConnectionsPerSecondPerAddress, maxInboundMessagesPerSecond, maxInboundBytesPerSecond, maxSubscriptions, maxHandshakesPerSecond, handshakeBurst, handshakeRetryWindowMillis);
  }

  public Limits withMaxConnectionsPerAddress(int v) {
    return new Limits(maxConnections, v, maxNewConnectionsPerSecondPerAddress, maxInboundMessagesPerSecond, maxInboundBytesPerSecond, maxSubscriptions, maxHandshakesPerSecond, handshakeBurst, handshakeRetryWindowMillis);
  }

  public Limits withMaxNewConnectionsPerSecondPerAddress(int v) {
    return new Limits(maxConnections, maxConnectionsPerAddress, v, maxInboundMessagesPerSecond, maxInboundBytesPerSecond, maxSubscriptions, maxHandshakesPerSecond, handshakeBurst, handshakeRetryWindowMillis);
  }

  public Limits withMaxInboundMessagesPerSecond(int v) {
    return new Limits(maxConnections, maxConnectionsPerAddress, maxNewConnectionsPerSecondPerAddress, v, maxInboundBytesPerSecond, maxSubscriptions, maxHandshakesPerSecond, handshakeBurst, handshakeRetryWindowMillis);
  }

  public Limits withMaxInboundBytesPerSecond(int v) {
    return new Limits(maxConnections, maxConnectionsPerAddress, maxNewConnectionsPerSecondPerAddress, maxInboundMessagesPerSecond, v, maxSubscriptions, maxHandshakesPerSecond, handshakeBurst, handshakeRetryWindowMillis);
  }

  public Limits withMaxSubscriptions(int v) {
    return new Limits(maxConnections, maxConnectionsPerAddress, maxNewConnectionsPerSecondPerAddress, maxInboundMessagesPerSecond, maxInboundBytesPerSecond, v, maxHandshakesPerSecond, handshakeBurst, handshakeRetryWindowMillis);
  }

  /** Admission control: handshakes per second, bucket size, and the spread of the retry-after. */
  public Limits withHandshakes(int perSecond, int burst, int retryWindowMillis) {
    return new Limits(maxConnections, maxConnectionsPerAddress, maxNewConnectionsPerSecondPerAddress, maxInboundMessagesPerSecond, maxInboundBytesPerSecond, maxSubscriptions, perSecond, burst, retryWindowMillis);
  }
}
