package io.longlink.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Encodes and decodes frames exactly as docs/PROTOCOL.md describes:
 *
 * <pre>
 * +--------+--------+--------+--------+--------+-------------------+
 * |         length (u32, big-endian)  |  type  |  body (length - 1)|
 * +--------+--------+--------+--------+--------+-------------------+
 * </pre>
 *
 * <p>Stateless and thread-safe. Decoding is strict: anything but a well-formed frame of a known
 * type throws {@link ProtocolException}, never another exception.
 */
public final class FrameCodec {
  /** Bytes of the length prefix. */
  public static final int LENGTH_FIELD_BYTES = 4;
  /** The server's default max frame size (the value of {@code length}). */
  public static final int DEFAULT_MAX_FRAME_SIZE = 1 << 20;
  /** The max frame size a server accepts before the handshake completed. */
  public static final int HANDSHAKE_MAX_FRAME_SIZE = 8192;

  private static final long U32_LIMIT = 1L << 31;

  private FrameCodec() {}

  /** Encodes {@code frame} into a new buffer from {@code alloc}; the caller owns the buffer. */
  public static ByteBuf encode(ByteBufAllocator alloc, Frame frame) {
    ByteBuf out = alloc.buffer(estimateSize(frame));
    try {
      encode(frame, out);
      return out;
    } catch (RuntimeException e) {
      out.release();
      throw e;
    }
  }

  /** Encodes {@code frame}, length prefix included, at the writer index of {@code out}. */
  public static void encode(Frame frame, ByteBuf out) {
    int start = out.writerIndex();
    out.writeInt(0); // length, patched below
    out.writeByte(frame.type().code());
    if (frame instanceof Frame.Hello h) {
      out.writeShort(checkU16(h.version(), "version"));
      writeString(out, h.clientId(), FieldRule.CLIENT_ID);
      writeString(out, h.token(), FieldRule.TOKEN);
      writeString(out, h.resumeSessionId(), FieldRule.SESSION_ID);
      out.writeLong(checkU63(h.lastReceivedSeq(), "lastReceivedSeq"));
      out.writeLong(checkU63(h.attemptStamp(), "attemptStamp"));
      if (h.version() >= Frame.VERSION_DEVICES) {
        writeString(out, h.deviceId(), FieldRule.DEVICE_ID);
      }
    } else if (frame instanceof Frame.Welcome w) {
      out.writeShort(checkU16(w.version(), "version"));
      writeString(out, w.sessionId(), FieldRule.SESSION_ID);
      out.writeByte(w.sessionStatus().code());
      out.writeLong(checkU63(w.lastReceivedSeq(), "lastReceivedSeq"));
      out.writeLong(checkU63(w.lostMessages(), "lostMessages"));
      out.writeInt(checkU31(w.heartbeatIntervalMs(), "heartbeatIntervalMs"));
      out.writeByte(checkU8(w.heartbeatMisses(), "heartbeatMisses"));
      out.writeInt(checkU31(w.maxFrameSize(), "maxFrameSize"));
      out.writeInt(checkU31(w.backoffInitialMs(), "backoffInitialMs"));
      out.writeInt(checkU31(w.backoffMaxMs(), "backoffMaxMs"));
      out.writeInt(checkU31(w.sessionRetentionMs(), "sessionRetentionMs"));
      if (w.version() >= Frame.VERSION_ADAPTIVE_HEARTBEAT) {
        out.writeInt(checkU31(w.heartbeatMinMs(), "heartbeatMinMs"));
        out.writeInt(checkU31(w.heartbeatMaxMs(), "heartbeatMaxMs"));
      }
    } else if (frame instanceof Frame.Ping p) {
      out.writeLong(checkU63(p.timestamp(), "timestamp"));
    } else if (frame instanceof Frame.Pong p) {
      out.writeLong(checkU63(p.timestamp(), "timestamp"));
    } else if (frame instanceof Frame.Heartbeat h) {
      out.writeInt(checkU31(h.intervalMs(), "intervalMs"));
    } else if (frame instanceof Frame.Data d) {
      out.writeLong(checkU63(d.seq(), "seq"));
      writeDataTail(out, d.targetKind(), encoded(d.target(), targetRule(d.targetKind())), encoded(d.from(), FieldRule.SENDER),
          d.payload());
    } else if (frame instanceof Frame.Ack a) {
      out.writeLong(checkU63(a.seq(), "seq"));
    } else if (frame instanceof Frame.Subscribe s) {
      out.writeLong(checkU63(s.seq(), "seq"));
      writeString(out, s.topic(), FieldRule.TOPIC);
    } else if (frame instanceof Frame.Unsubscribe u) {
      out.writeLong(checkU63(u.seq(), "seq"));
      writeString(out, u.topic(), FieldRule.TOPIC);
    } else if (frame instanceof Frame.Gap g) {
      out.writeLong(checkU63(g.fromSeq(), "fromSeq"));
      out.writeLong(checkU63(g.toSeq(), "toSeq"));
    } else if (frame instanceof Frame.Reject r) {
      out.writeLong(checkU63(r.seq(), "seq"));
      out.writeShort(checkU16(r.rawCode(), "code"));
      writeString(out, r.message(), FieldRule.TEXT);
    } else if (frame instanceof Frame.Request r) {
      out.writeLong(checkU63(r.requestId(), "requestId"));
      out.writeLong(checkU63(r.deadline(), "deadline"));
      writeString(out, r.target(), FieldRule.REQUEST_TARGET);
      writeString(out, r.from(), FieldRule.SENDER);
      out.writeInt(r.payload().length);
      out.writeBytes(r.payload());
    } else if (frame instanceof Frame.Response r) {
      out.writeLong(checkU63(r.requestId(), "requestId"));
      out.writeShort(checkU16(r.rawCode(), "code"));
      writeString(out, r.message(), FieldRule.TEXT);
      out.writeInt(r.payload().length);
      out.writeBytes(r.payload());
    } else if (frame instanceof Frame.Cancel c) {
      out.writeLong(checkU63(c.requestId(), "requestId"));
    } else if (frame instanceof Frame.GoAway g) {
      out.writeShort(checkU16(g.rawCode(), "code"));
      writeString(out, g.reason(), FieldRule.TEXT);
      out.writeInt(checkU31(g.reconnectDelayMs(), "reconnectDelayMs"));
      writeString(out, g.alternativeEndpoint(), FieldRule.TEXT);
    } else if (frame instanceof Frame.Error e) {
      out.writeShort(checkU16(e.rawCode(), "code"));
      writeString(out, e.message(), FieldRule.TEXT);
    } else if (frame instanceof Frame.Close c) {
      out.writeShort(checkU16(c.rawCode(), "code"));
      writeString(out, c.reason(), FieldRule.TEXT);
    } else if (frame instanceof Frame.Reauth r) {
      out.writeInt(checkU31(r.expiresInMs(), "expiresInMs"));
    } else if (frame instanceof Frame.Auth a) {
      writeString(out, a.token(), FieldRule.TOKEN);
    } else {
      throw new IllegalArgumentException("unknown frame class: " + frame.getClass().getName());
    }
    out.setInt(start, out.writerIndex() - start - LENGTH_FIELD_BYTES);
  }

  /**
   * The bytes of a DATA frame after its {@code seq} (target kind, target, sender, payload), for
   * {@link #encodeData}: a message that goes to many sessions is encoded once and copied into each
   * session's frame under that session's number.
   *
   * @throws IllegalArgumentException if a field breaks its rule (as {@link #encode} would)
   */
  public static byte[] encodeDataTail(TargetKind kind, String target, String from, byte[] payload) {
    byte[] t = encoded(target, targetRule(kind));
    byte[] f = encoded(from, FieldRule.SENDER);
    byte[] tail = new byte[tailSize(t, f, payload)];
    writeDataTail(Unpooled.wrappedBuffer(tail).writerIndex(0), kind, t, f, payload);
    return tail;
  }

  /** Encodes a DATA frame numbered {@code seq} whose remaining bytes are {@code tail} (from {@link #encodeDataTail}). */
  public static void encodeData(long seq, byte[] tail, ByteBuf out) {
    writeDataHead(out, seq, tail.length);
    out.writeBytes(tail);
  }

  /** Bytes {@link #encodeData} writes for a {@code tail}. */
  public static int dataFrameSize(byte[] tail) {
    return dataFrameSize(tail.length);
  }

  /**
   * Encodes a DATA frame from its fields, as {@link #encode} does for a {@link Frame.Data}, without
   * the frame object: a message that goes to one session is written straight from what the gateway
   * keeps of it.
   *
   * @throws IllegalArgumentException if a field breaks its rule
   */
  public static void encodeData(long seq, TargetKind kind, String target, String from, byte[] payload, ByteBuf out) {
    byte[] t = encoded(target, targetRule(kind));
    byte[] f = encoded(from, FieldRule.SENDER);
    writeDataHead(out, seq, tailSize(t, f, payload));
    writeDataTail(out, kind, t, f, payload);
  }

  /** Bytes the {@link #encodeData(long, TargetKind, String, String, byte[], ByteBuf) DATA frame} of these fields takes. */
  public static int dataFrameSize(TargetKind kind, String target, String from, byte[] payload) {
    return dataFrameSize(tailSize(encoded(target, targetRule(kind)), encoded(from, FieldRule.SENDER), payload));
  }

  /** A DATA frame's length prefix, type and seq (docs/PROTOCOL.md), before {@code tailSize} more bytes. */
  private static void writeDataHead(ByteBuf out, long seq, int tailSize) {
    out.writeInt(dataFrameSize(tailSize) - LENGTH_FIELD_BYTES);
    out.writeByte(FrameType.DATA.code());
    out.writeLong(checkU63(seq, "seq"));
  }

  private static int dataFrameSize(int tailSize) {
    return LENGTH_FIELD_BYTES + 1 + 8 + tailSize;
  }

  private static int tailSize(byte[] target, byte[] from, byte[] payload) {
    return 1 + 2 + target.length + 2 + from.length + 4 + payload.length;
  }

  /** The fields after a DATA frame's seq; {@code target} and {@code from} already checked and encoded. */
  private static void writeDataTail(ByteBuf out, TargetKind kind, byte[] target, byte[] from, byte[] payload) {
    out.writeByte(kind.code());
    out.writeShort(target.length).writeBytes(target);
    out.writeShort(from.length).writeBytes(from);
    out.writeInt(payload.length);
    out.writeBytes(payload);
  }

  /**
   * Decodes one frame from exactly the readable bytes of {@code frame}: the type byte and the body,
   * without the length prefix. Consumes those bytes.
   *
   * @throws ProtocolException if the bytes are not a well-formed version 1 frame
   */
  public static Frame decode(ByteBuf frame) {
    if (!frame.isReadable()) {
      throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "empty frame (expected: a type byte)");
    }
    int typeCode = frame.readUnsignedByte();
    FrameType type = FrameType.ofCode(typeCode);
    if (type == null) {
      throw new ProtocolException(
          ErrorCode.UNKNOWN_FRAME_TYPE, String.format("frame type 0x%02x (expected: one of docs/PROTOCOL.md section 4)", typeCode));
    }
    Frame result;
    switch (type) {
      case HELLO: {
        int version = readU16(frame, "version");
        String clientId = readString(frame, FieldRule.CLIENT_ID);
        String token = readString(frame, FieldRule.TOKEN);
        String resume = readString(frame, FieldRule.SESSION_ID);
        long lastReceived = readU63(frame, "lastReceivedSeq");
        long stamp = readU63(frame, "attemptStamp");
        String device = version >= Frame.VERSION_DEVICES && version <= Frame.MAX_VERSION
            ? readString(frame, FieldRule.DEVICE_ID) : "";
        if (version > Frame.MAX_VERSION) {
          // A later version's fields: unknown here, skipped, so that the answer is UNSUPPORTED_VERSION.
          frame.skipBytes(frame.readableBytes());
        }
        result = new Frame.Hello(version, clientId, token, resume, lastReceived, stamp, device);
        break;
      }
      case WELCOME: {
        int version = readU16(frame, "version");
        String sessionId = readString(frame, FieldRule.SESSION_ID);
        int statusCode = readU8(frame, "sessionStatus");
        SessionStatus status = SessionStatus.ofCode(statusCode);
        if (status == null) {
          throw bad("sessionStatus: " + statusCode + " (expected: 0, 1 or 2)");
        }
        long lastReceived = readU63(frame, "lastReceivedSeq");
        long lost = readU63(frame, "lostMessages");
        int interval = readU31(frame, "heartbeatIntervalMs");
        int misses = readU8(frame, "heartbeatMisses");
        int maxFrame = readU31(frame, "maxFrameSize");
        int backoffInitial = readU31(frame, "backoffInitialMs");
        int backoffMax = readU31(frame, "backoffMaxMs");
        int retention = readU31(frame, "sessionRetentionMs");
        if (version >= Frame.VERSION_ADAPTIVE_HEARTBEAT) {
          int min = readU31(frame, "heartbeatMinMs");
          int max = readU31(frame, "heartbeatMaxMs");
          if (min > interval || interval > max) {
            throw bad("heartbeat bounds " + min + ".." + max + " ms around interval " + interval
                + " ms (expected: heartbeatMinMs <= heartbeatIntervalMs <= heartbeatMaxMs)");
          }
          result = new Frame.Welcome(version, sessionId, status, lastReceived, lost, interval, misses, maxFrame,
              backoffInitial, backoffMax, retention, min, max);
        } else {
          result = new Frame.Welcome(version, sessionId, status, lastReceived, lost, interval, misses, maxFrame,
              backoffInitial, backoffMax, retention);
        }
        break;
      }
      case PING:
        result = new Frame.Ping(readU63(frame, "timestamp"));
        break;
      case PONG:
        result = new Frame.Pong(readU63(frame, "timestamp"));
        break;
      case HEARTBEAT:
        result = new Frame.Heartbeat(readU31(frame, "intervalMs"));
        break;
      case DATA: {
        long seq = readU63(frame, "seq");
        int kindCode = readU8(frame, "targetKind");
        TargetKind kind = TargetKind.ofCode(kindCode);
        if (kind == null) {
          throw bad("targetKind: " + kindCode + " (expected: 1 CLIENT, 2 TOPIC or 3 USER)");
        }
        String target = readString(frame, targetRule(kind));
        String from = readString(frame, FieldRule.SENDER);
        result = new Frame.Data(seq, kind, target, from, readBytes(frame));
        break;
      }
      case ACK:
        result = new Frame.Ack(readU63(frame, "seq"));
        break;
      case SUBSCRIBE:
        result = new Frame.Subscribe(readU63(frame, "seq"), readString(frame, FieldRule.TOPIC));
        break;
      case UNSUBSCRIBE:
        result = new Frame.Unsubscribe(readU63(frame, "seq"), readString(frame, FieldRule.TOPIC));
        break;
      case GAP: {
        long from = readU63(frame, "fromSeq");
        long to = readU63(frame, "toSeq");
        if (from < 1 || to < from) {
          throw bad("gap " + from + ".." + to + " (expected: 1 <= fromSeq <= toSeq)");
        }
        result = new Frame.Gap(from, to);
        break;
      }
      case REJECT: {
        long seq = readU63(frame, "seq");
        int code = readU16(frame, "code");
        result = new Frame.Reject(seq, ErrorCode.ofCode(code), code, readString(frame, FieldRule.TEXT));
        break;
      }
      case REQUEST: {
        long id = readU63(frame, "requestId");
        long deadline = readU63(frame, "deadline");
        String target = readString(frame, FieldRule.REQUEST_TARGET);
        String from = readString(frame, FieldRule.SENDER);
        result = new Frame.Request(id, deadline, target, from, readBytes(frame));
        break;
      }
      case RESPONSE: {
        long id = readU63(frame, "requestId");
        int code = readU16(frame, "code");
        String message = readString(frame, FieldRule.TEXT);
        result = new Frame.Response(id, ErrorCode.ofCode(code), code, message, readBytes(frame));
        break;
      }
      case CANCEL:
        result = new Frame.Cancel(readU63(frame, "requestId"));
        break;
      case GOAWAY: {
        int code = readU16(frame, "code");
        result = new Frame.GoAway(ErrorCode.ofCode(code), code, readString(frame, FieldRule.TEXT),
            readU31(frame, "reconnectDelayMs"), readString(frame, FieldRule.TEXT));
        break;
      }
      case ERROR: {
        int code = readU16(frame, "code");
        result = new Frame.Error(ErrorCode.ofCode(code), code, readString(frame, FieldRule.TEXT));
        break;
      }
      case CLOSE: {
        int code = readU16(frame, "code");
        result = new Frame.Close(ErrorCode.ofCode(code), code, readString(frame, FieldRule.TEXT));
        break;
      }
      case REAUTH:
        result = new Frame.Reauth(readU31(frame, "expiresInMs"));
        break;
      case AUTH:
        result = new Frame.Auth(readString(frame, FieldRule.TOKEN));
        break;
      default:
        throw new AssertionError(type);
    }
    if (frame.isReadable()) {
      throw bad(frame.readableBytes() + " trailing bytes after a " + type + " frame (expected: none)");
    }
    return result;
  }

  /** A u32 length and that many bytes: a payload. */
  private static byte[] readBytes(ByteBuf frame) {
    int length = readU31(frame, "payload length");
    need(frame, length, "payload");
    byte[] payload = new byte[length];
    frame.readBytes(payload);
    return payload;
  }

  private static FieldRule targetRule(TargetKind kind) {
    return kind == TargetKind.TOPIC ? FieldRule.TOPIC : FieldRule.CLIENT_ID; // a USER target is a principal
  }

  private static int estimateSize(Frame frame) {
    if (frame instanceof Frame.Data d) {
      return 64 + d.target().length() * 3 + d.from().length() * 3 + d.payload().length;
    }
    return 64;
  }

  private static void writeString(ByteBuf out, String value, FieldRule rule) {
    byte[] bytes = encoded(value, rule);
    out.writeShort(bytes.length);
    out.writeBytes(bytes);
  }

  /** {@code value} in UTF-8, checked against {@code rule}. */
  private static byte[] encoded(String value, FieldRule rule) {
    RecentStrings recent = RecentStrings.current();
    byte[] bytes = recent.bytesOf(value, rule);
    if (bytes == null) {
      bytes = value.getBytes(StandardCharsets.UTF_8);
      String violation = rule.violation(value, bytes.length);
      if (violation != null) {
        throw new IllegalArgumentException(violation);
      }
      recent.remember(value, rule, bytes);
    }
    return bytes;
  }

  private static int checkU8(int v, String field) {
    if (v < 0 || v > 0xff) {
      throw new IllegalArgumentException(field + ": " + v + " (expected: 0..255)");
    }
    return v;
  }

  private static int checkU16(int v, String field) {
    if (v < 0 || v > 0xffff) {
      throw new IllegalArgumentException(field + ": " + v + " (expected: 0..65535)");
    }
    return v;
  }

  private static int checkU31(int v, String field) {
    if (v < 0) {
      throw new IllegalArgumentException(field + ": " + v + " (expected: >= 0)");
    }
    return v;
  }

  private static long checkU63(long v, String field) {
    if (v < 0) {
      throw new IllegalArgumentException(field + ": " + v + " (expected: >= 0)");
    }
    return v;
  }

  private static ProtocolException bad(String message) {
    return new ProtocolException(ErrorCode.PROTOCOL_ERROR, message);
  }

  private static void need(ByteBuf in, long bytes, String field) {
    if (in.readableBytes() < bytes) {
      throw bad("truncated " + field + ": needs " + bytes + " bytes, " + in.readableBytes() + " left in the frame");
    }
  }

  private static int readU8(ByteBuf in, String field) {
    need(in, 1, field);
    return in.readUnsignedByte();
  }

  private static int readU16(ByteBuf in, String field) {
    need(in, 2, field);
    return in.readUnsignedShort();
  }

  private static int readU31(ByteBuf in, String field) {
    need(in, 4, field);
    long v = in.readUnsignedInt();
    if (v >= U32_LIMIT) {
      throw bad(field + ": " + v + " (expected: < 2^31)");
    }
    return (int) v;
  }

  private static long readU63(ByteBuf in, String field) {
    need(in, 8, field);
    long v = in.readLong();
    if (v < 0) {
      throw bad(field + ": " + Long.toUnsignedString(v) + " (expected: < 2^63)");
    }
    return v;
  }

  private static String readString(ByteBuf in, FieldRule rule) {
    int length = readU16(in, rule.lengthFieldName());
    need(in, length, rule.fieldName());
    int index = in.readerIndex();
    if (length == 0) {
      String violation = rule.violation("", 0);
      if (violation != null) {
        throw bad(violation);
      }
      return "";
    }
    RecentStrings recent = RecentStrings.current();
    String value = recent.valueOf(in, index, length, rule);
    if (value != null) {
      in.skipBytes(length);
      return value;
    }
    byte[] bytes = new byte[length];
    in.getBytes(index, bytes);
    value = decode(bytes);
    if (value == null) {
      throw bad(rule.fieldName() + ": malformed UTF-8 (expected: well-formed UTF-8)");
    }
    in.skipBytes(length);
    String violation = rule.violation(value, length);
    if (violation != null) {
      throw bad(violation);
    }
    recent.remember(value, rule, bytes);
    return value;
  }

  /** {@code bytes} as UTF-8, or null if they are not well-formed UTF-8; ASCII (ids, topics) the fast way. */
  private static String decode(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0) {
        CharsetDecoder strict = StandardCharsets.UTF_8.newDecoder(); // REPORT on malformed input: the default
        try {
          return strict.decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
          return null;
        }
      }
    }
    return new String(bytes, StandardCharsets.ISO_8859_1); // all ASCII: the same as UTF-8, without a decoder
  }
}
