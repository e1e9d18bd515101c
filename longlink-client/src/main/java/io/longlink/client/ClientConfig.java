package io.longlink.client;

import io.longlink.protocol.Ticker;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executor;

/**
 * What a {@link LonglinkClient} was built with: every setting of its {@link LonglinkClient.Builder},
 * checked there (each setter names a bad value), in one immutable value the client reads instead of
 * a field per setting. The builder's javadoc says what each means and its default.
 *
 * @param group {@code null}: the client runs its own one-thread event loop group
 * @param backoffInitial {@code null}: the backoff the server announces in WELCOME (then {@code
 *     backoffMax} is {@code null} too)
 * @param requestHandler {@code null}: requests to this client are answered NO_HANDLER
 * @param requestExecutor {@code null}: the handler runs on the client's event loop
 * @param tls {@code null}: plaintext
 * @param adaptiveHeartbeat {@code null}: the gateway's fixed interval (protocol version 1)
 * @param fallback {@code null}: the endpoints only
 */
record ClientConfig(
    List<InetSocketAddress> endpoints,
    String clientId,
    TokenProvider tokenProvider,
    ClientListener listener,
    Duration connectTimeout,
    int maxFrameSize,
    Ticker ticker,
    Random random,
    EventLoopGroup group,
    boolean reconnect,
    boolean retryInitialConnect,
    int maxAttempts,
    Duration stableAfter,
    Duration backoffInitial,
    Duration backoffMax,
    int maxPendingMessages,
    long maxPendingBytes,
    LonglinkClient.OverflowPolicy overflowPolicy,
    int ackBatchMessages,
    Duration ackDelay,
    Duration blockTimeout,
    ClientRequestHandler requestHandler,
    Executor requestExecutor,
    ClientTls tls,
    AdaptiveHeartbeat adaptiveHeartbeat,
    Fallback fallback,
    Duration raceStagger,
    int raceMaxInFlight,
    String deviceId) {}
