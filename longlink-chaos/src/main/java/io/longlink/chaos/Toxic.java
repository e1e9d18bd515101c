package io.longlink.chaos;

import java.util.Locale;
import java.util.Objects;

/**
 * One fault applied to one direction of a proxy's connections. Immutable; build with the static
 * factories and {@link #withToxicity}. Times are milliseconds, sizes bytes.
 *
 * @param name unique within its proxy
 * @param type what it does
 * @param stream which direction: {@link Stream#UPSTREAM} is client → server
 * @param toxicity the probability (0..1) that it applies to a given connection; drawn once per
 *     connection when the connection opens or the toxic is added
 * @param latencyMs LATENCY: added delay
 * @param jitterMs LATENCY: random extra delay in [-jitter, +jitter]
 * @param rateBytesPerSecond BANDWIDTH: the rate limit
 * @param sliceBytes SLICER: size of the pieces writes are cut into
 * @param sliceDelayMs SLICER: pause between pieces
 * @param limitBytes LIMIT_DATA: bytes forwarded before the connection is closed
 * @param timeoutMs TIMEOUT: stop forwarding, then close after this long (0: never close)
 */
public record Toxic(
    String name,
    Type type,
    Stream stream,
    double toxicity,
    long latencyMs,
    long jitterMs,
    long rateBytesPerSecond,
    int sliceBytes,
    long sliceDelayMs,
    long limitBytes,
    long timeoutMs) {

  /** What a toxic does. */
  public enum Type {
    /** Delays data by latency ± jitter, keeping its order. */
    LATENCY,
    /** Limits the rate of data. */
    BANDWIDTH,
    /** Cuts data into small pieces sent with pauses. */
    SLICER,
    /** Drops data silently; both sockets stay open (a half-open connection from each side). */
    BLACKHOLE,
    /** Closes both sides with RST (SO_LINGER 0). */
    RESET,
    /** Closes both sides normally (FIN). */
    CLOSE,
    /** Closes both sides once this many bytes went through in the stream. */
    LIMIT_DATA,
    /** Drops data and closes both sides after the timeout. */
    TIMEOUT;

    /** The lower-case wire name ({@code limit_data}). */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A direction through the proxy. */
  public enum Stream {
    /** Client → server. */
    UPSTREAM,
    /** Server → client. */
    DOWNSTREAM
  }

  public Toxic {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(stream, "stream");
    if (name.isBlank() || name.contains("/")) {
      throw new IllegalArgumentException("name: '" + name + "' (expected: non-empty, no '/')");
    }
    check(toxicity >= 0 && toxicity <= 1, "toxicity", toxicity, "0..1");
    check(latencyMs >= 0, "latency", latencyMs, ">= 0");
    check(jitterMs >= 0 && jitterMs <= latencyMs, "jitter", jitterMs, "0..latency");
    check(type != Type.BANDWIDTH || rateBytesPerSecond > 0, "rate", rateBytesPerSecond, "> 0 bytes/s");
    check(type != Type.SLICER || sliceBytes > 0, "average_size", sliceBytes, "> 0 bytes");
    check(sliceDelayMs >= 0, "delay", sliceDelayMs, ">= 0");
    check(type != Type.LIMIT_DATA || limitBytes >= 0, "bytes", limitBytes, ">= 0");
    check(timeoutMs >= 0, "timeout", timeoutMs, ">= 0");
  }

  private static void check(boolean ok, String attribute, Object value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(attribute + ": " + value + " (expected: " + expected + ")");
    }
  }

  private static Toxic of(String name, Type type, Stream stream) {
    return new Toxic(name, type, stream, 1.0, 0, 0, 0, 0, 0, 0, 0);
  }

  public static Toxic latency(String name, Stream stream, long latencyMs, long jitterMs) {
    return new Toxic(name, Type.LATENCY, stream, 1.0, latencyMs, jitterMs, 0, 0, 0, 0, 0);
  }

  public static Toxic bandwidth(String name, Stream stream, long bytesPerSecond) {
    return new Toxic(name, Type.BANDWIDTH, stream, 1.0, 0, 0, bytesPerSecond, 0, 0, 0, 0);
  }

  public static Toxic slicer(String name, Stream stream, int sliceBytes, long delayMs) {
    return new Toxic(name, Type.SLICER, stream, 1.0, 0, 0, 0, sliceBytes, delayMs, 0, 0);
  }

  public static Toxic blackhole(String name, Stream stream) {
    return of(name, Type.BLACKHOLE, stream);
  }

  public static Toxic reset(String name) {
    return of(name, Type.RESET, Stream.DOWNSTREAM);
  }

  public static Toxic close(String name) {
    return of(name, Type.CLOSE, Stream.DOWNSTREAM);
  }

  public static Toxic limitData(String name, Stream stream, long bytes) {
    return new Toxic(name, Type.LIMIT_DATA, stream, 1.0, 0, 0, 0, 0, 0, bytes, 0);
  }

  public static Toxic timeout(String name, Stream stream, long timeoutMs) {
    return new Toxic(name, Type.TIMEOUT, stream, 1.0, 0, 0, 0, 0, 0, 0, timeoutMs);
  }

  /** The same toxic applying to a fraction of connections. */
  public Toxic withToxicity(double fraction) {
    return new Toxic(name, type, stream, fraction, latencyMs, jitterMs, rateBytesPerSecond, sliceBytes, sliceDelayMs,
        limitBytes, timeoutMs);
  }
}
