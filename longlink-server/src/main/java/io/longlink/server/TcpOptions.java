package io.longlink.server;

import static io.longlink.server.ConfigChecks.check;

import java.time.Duration;
import java.util.Objects;

/**
 * Socket settings of the gateway's client connections. The defaults and why:
 *
 * <ul>
 *   <li><b>TCP keepalive on, after 60 s idle, probes every 10 s, dead after 3</b>: a backstop for
 *       a peer that vanished without FIN/RST while nothing is being sent. Clients send a heartbeat
 *       every interval (30 s by default), so a healthy connection never goes 60 s idle and the
 *       probes cost nothing; a dead one is closed by the kernel within 90 s even if the
 *       application-level deadline were misconfigured.
 *   <li><b>TCP_USER_TIMEOUT 30 s</b>: data written to a peer that stopped acknowledging fails the
 *       connection after 30 s instead of after the kernel's ~15 minutes of retransmissions, so the
 *       send buffer and the session's connection are freed in bounded time (epoll only: the JDK
 *       has no such option for NIO). Zero leaves the kernel default.
 *   <li><b>Receive/send buffers 0</b> (kernel autotuning): setting them fixes the size and turns
 *       autotuning off; only worth it to cap kernel memory per idle connection.
 *   <li><b>Backlog 4096</b>: room for a reconnect wave between two accept loops (the kernel caps
 *       it at {@code net.core.somaxconn}).
 *   <li><b>TCP_NODELAY on</b>: frames are small and latency matters more than packet count.
 *   <li><b>Write-buffer watermarks 32 / 64 KiB</b>: past the high mark a connection stops taking
 *       messages from its session's replay buffer until the socket drains below the low mark, so a
 *       slow reader holds at most ~64 KiB in Netty beyond what its session buffers.
 * </ul>
 */
public record TcpOptions(
    boolean keepAlive,
    Duration keepAliveIdle,
    Duration keepAliveInterval,
    int keepAliveCount,
    Duration userTimeout,
    int receiveBuffer,
    int sendBuffer,
    int backlog,
    boolean noDelay,
    int writeBufferLowWaterMark,
    int writeBufferHighWaterMark,
    boolean reusePort) {

  public TcpOptions {
    Objects.requireNonNull(keepAliveIdle, "keepAliveIdle");
    Objects.requireNonNull(keepAliveInterval, "keepAliveInterval");
    Objects.requireNonNull(userTimeout, "userTimeout");
    check(keepAliveIdle.toSeconds() >= 1 && keepAliveIdle.toSeconds() <= 32767, "keepAliveIdle", keepAliveIdle,
        "1s..32767s (whole seconds: the kernel's unit)");
    check(keepAliveInterval.toSeconds() >= 1 && keepAliveInterval.toSeconds() <= 32767, "keepAliveInterval",
        keepAliveInterval, "1s..32767s");
    check(keepAliveCount >= 1 && keepAliveCount <= 127, "keepAliveCount", keepAliveCount, "1..127");
    check(!userTimeout.isNegative() && userTimeout.toMillis() <= Integer.MAX_VALUE, "userTimeout", userTimeout,
        ">= 0 and < 2^31 ms (0: kernel default)");
    check(receiveBuffer >= 0, "receiveBuffer", receiveBuffer, ">= 0 (0: kernel autotuning)");
    check(sendBuffer >= 0, "sendBuffer", sendBuffer, ">= 0 (0: kernel autotuning)");
    check(backlog >= 1, "backlog", backlog, ">= 1");
    check(writeBufferLowWaterMark >= 1, "writeBufferLowWaterMark", writeBufferLowWaterMark, ">= 1");
    check(writeBufferHighWaterMark >= writeBufferLowWaterMark, "writeBufferHighWaterMark", writeBufferHighWaterMark,
        ">= writeBufferLowWaterMark " + writeBufferLowWaterMark);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.keepAlive = keepAlive;
    b.keepAliveIdle = keepAliveIdle;
    b.keepAliveInterval = keepAliveInterval;
    b.keepAliveCount = keepAliveCount;
    b.userTimeout = userTimeout;
    b.receiveBuffer = receiveBuffer;
    b.sendBuffer = sendBuffer;
    b.backlog = backlog;
    b.noDelay = noDelay;
    b.writeBufferLowWaterMark = writeBufferLowWaterMark;
    b.writeBufferHighWaterMark = writeBufferHighWaterMark;
    b.reusePort = reusePort;
    return b;
  }


  /** Builds {@link TcpOptions}; starts from the defaults above. */
  public static final class Builder {
    private boolean keepAlive = true;
    private Duration keepAliveIdle = Duration.ofSeconds(60);
    private Duration keepAliveInterval = Duration.ofSeconds(10);
    private int keepAliveCount = 3;
    private Duration userTimeout = Duration.ofSeconds(30);
    private int receiveBuffer;
    private int sendBuffer;
    private int backlog = 4096;
    private boolean noDelay = true;
    private int writeBufferLowWaterMark = 32 * 1024;
    private int writeBufferHighWaterMark = 64 * 1024;
    private boolean reusePort;

    private Builder() {}

    public Builder keepAlive(boolean on, Duration idle, Duration interval, int count) {
      this.keepAlive = on;
      this.keepAliveIdle = idle;
      this.keepAliveInterval = interval;
      this.keepAliveCount = count;
      return this;
    }

    public Builder userTimeout(Duration userTimeout) {
      this.userTimeout = userTimeout;
      return this;
    }

    public Builder buffers(int receiveBuffer, int sendBuffer) {
      this.receiveBuffer = receiveBuffer;
      this.sendBuffer = sendBuffer;
      return this;
    }

    public Builder backlog(int backlog) {
      this.backlog = backlog;
      return this;
    }

    public Builder noDelay(boolean noDelay) {
      this.noDelay = noDelay;
      return this;
    }

    public Builder writeBufferWaterMarks(int low, int high) {
      this.writeBufferLowWaterMark = low;
      this.writeBufferHighWaterMark = high;
      return this;
    }

    /**
     * {@code SO_REUSEPORT} on the listening socket: several gateway processes on one host bind the
     * same port and the kernel spreads new connections over them (by a hash of the connection's
     * addresses). Every process must set it; off by default, so a second gateway started on a
     * port by mistake fails to bind instead of silently taking half the connections. With in-memory
     * sessions a client that reconnects may land on another process and lose its session: use it
     * with a cluster (`--redis`), where a session resumes on any process.
     */
    public Builder reusePort(boolean reusePort) {
      this.reusePort = reusePort;
      return this;
    }

    public TcpOptions build() {
      return new TcpOptions(keepAlive, keepAliveIdle, keepAliveInterval, keepAliveCount, userTimeout, receiveBuffer,
          sendBuffer, backlog, noDelay, writeBufferLowWaterMark, writeBufferHighWaterMark, reusePort);
    }
  }
}
