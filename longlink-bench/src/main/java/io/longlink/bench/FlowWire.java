package io.longlink.bench;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.FrameDecoder;
import io.longlink.protocol.FrameType;
import io.longlink.protocol.TargetKind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The servers a flow is measured on, each with its own delivery guarantee: longlink (numbered,
 * acknowledged, replayed), NATS core (at most once) and MQTT 3.1.1 at QoS 1 (at least once, the
 * receiver acknowledges each message). Each wire logs a client in (subscribing a receiver to its
 * subject), frames one message, and decodes what the server sends into {@link Event}s, answering
 * the protocol's own acknowledgements and keepalives itself.
 */
enum FlowWire {
  LONGLINK {
    @Override
    ByteBuf login(ByteBufAllocator a, String id, String device, String subscribe) {
      ByteBuf b = FrameCodec.encode(a, Frame.Hello.newSession(id, "", device));
      return subscribe == null ? b : a.compositeBuffer().addComponents(true, b,
          FrameCodec.encode(a, new Frame.Subscribe(1, subscribe)));
    }

    @Override
    void message(ByteBuf out, long index, String destination, TargetKind kind, byte[] payload) {
      FrameCodec.encodeData(index, kind, destination, "", payload, out);
    }

    @Override
    ChannelHandler decoder(boolean subscribing, Sink sink, Acks acks) {
      return new LonglinkDecoder(subscribing, sink, acks);
    }
  },

  NATS {
    @Override
    ByteBuf login(ByteBufAllocator a, String id, String device, String subscribe) {
      String s = "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"" + id + "\"}\r\n"
          + (subscribe == null ? "" : "SUB " + subscribe + " 1\r\n") + "PING\r\n"; // PONG: all of it is in
      return a.buffer(s.length()).writeBytes(s.getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    void message(ByteBuf out, long index, String destination, TargetKind kind, byte[] payload) {
      out.writeCharSequence("PUB ", StandardCharsets.US_ASCII);
      out.writeCharSequence(destination, StandardCharsets.US_ASCII);
      out.writeByte(' ');
      out.writeCharSequence(Integer.toString(payload.length), StandardCharsets.US_ASCII);
      out.writeByte('\r').writeByte('\n').writeBytes(payload).writeByte('\r').writeByte('\n');
    }

    @Override
    ChannelHandler decoder(boolean subscribing, Sink sink, Acks acks) {
      return new NatsDecoder(sink);
    }
  },

  MQTT {
    @Override
    ByteBuf login(ByteBufAllocator a, String id, String device, String subscribe) {
      byte[] cid = id.getBytes(StandardCharsets.US_ASCII);
      ByteBuf b = a.buffer();
      b.writeByte(0x10);
      writeLength(b, 10 + 2 + cid.length);
      b.writeShort(4).writeBytes("MQTT".getBytes(StandardCharsets.US_ASCII)).writeByte(4); // 3.1.1
      b.writeByte(0x02).writeShort(60); // clean session, keepalive 60 s
      b.writeShort(cid.length).writeBytes(cid);
      if (subscribe != null) {
        byte[] t = subscribe.getBytes(StandardCharsets.US_ASCII);
        b.writeByte(0x82);
        writeLength(b, 2 + 2 + t.length + 1);
        b.writeShort(1).writeShort(t.length).writeBytes(t).writeByte(1); // packet id 1, QoS 1
      }
      return b;
    }

    @Override
    void message(ByteBuf out, long index, String destination, TargetKind kind, byte[] payload) {
      out.writeByte(0x32); // PUBLISH, QoS 1
      writeLength(out, 2 + destination.length() + 2 + payload.length);
      out.writeShort(destination.length());
      out.writeCharSequence(destination, StandardCharsets.US_ASCII);
      out.writeShort((int) (index % 65_535) + 1).writeBytes(payload);
    }

    @Override
    ChannelHandler decoder(boolean subscribing, Sink sink, Acks acks) {
      return new MqttDecoder(subscribing, sink);
    }
  };

  /**
   * What a client learns from its server, told by its decoder on the connection's event loop: no
   * event objects per message, so the load generator's own cost per delivery stays small.
   */
  interface Sink {
    /** Logged in (and subscribed): the flow may start. */
    void ready();

    /** The server refused or broke off. */
    void failed(String why);

    /** A message for this receiver: the first 16 bytes of its payload (intended send time, index). */
    void delivered(long intended, long index);
  }

  /**
   * When a longlink receiver acknowledges, as the SDK's {@code ackBatch(messages, delay)} does: at
   * the latest after {@code messages}, else at the end of each read ({@code delayNanos} zero) or
   * {@code delayNanos} after the first unacknowledged message.
   */
  record Acks(int messages, long delayNanos) {}

  /**
   * The login bytes: log in as {@code id} (with a device id unless empty: longlink only) and, for a
   * receiver, subscribe to {@code subscribe}.
   */
  abstract ByteBuf login(ByteBufAllocator a, String id, String device, String subscribe);

  /**
   * Appends one message (the {@code index}-th, from 1) to {@code destination} to {@code out}: a
   * client, a topic or (longlink only) a user; the peers address both of theirs by subject.
   */
  abstract void message(ByteBuf out, long index, String destination, TargetKind kind, byte[] payload);

  /** Whether this wire can address {@code kind}: every wire a client and a topic, only longlink a user. */
  boolean addresses(TargetKind kind) {
    return this == LONGLINK || kind != TargetKind.USER;
  }

  /**
   * A new decoder for one connection, reporting to {@code sink}; {@code subscribing}: its login
   * includes a subscription; {@code acks}: when a longlink receiver acknowledges.
   */
  abstract ChannelHandler decoder(boolean subscribing, Sink sink, Acks acks);

  /** What a receiver subscribes to: nothing on longlink one-to-one (clients are addressed by id). */
  String subscription(String receiverId, String topic) {
    return topic != null ? topic : this == LONGLINK ? null : receiverId;
  }

  private static void writeLength(ByteBuf b, int length) {
    do {
      int digit = length % 128;
      length /= 128;
      b.writeByte(length > 0 ? digit | 0x80 : digit);
    } while (length > 0);
  }

  /**
   * longlink frames; acknowledges as {@link Acks} says. A DATA frame is read in place (the fields
   * are skipped to the payload's first 16 bytes, nothing is copied), the gateway's ACKs of sent
   * messages are skipped; every other frame goes through the codec.
   */
  private static final class LonglinkDecoder extends ByteToMessageDecoder {
    private final Sink sink;
    private final Acks acks;
    private boolean subscribeAckPending;
    private long lastSeq;
    private int unacked;
    private ScheduledFuture<?> ackTimer;

    LonglinkDecoder(boolean subscribing, Sink sink, Acks acks) {
      this.subscribeAckPending = subscribing;
      this.sink = sink;
      this.acks = acks;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      while (in.readableBytes() >= FrameCodec.LENGTH_FIELD_BYTES + 1) {
        int r = in.readerIndex();
        long length = in.getUnsignedInt(r);
        byte type = in.getByte(r + FrameCodec.LENGTH_FIELD_BYTES);
        if (type == ACK && length == ACK_BODY && !subscribeAckPending) { // the gateway acknowledging sent messages
          if (in.readableBytes() < FrameCodec.LENGTH_FIELD_BYTES + ACK_BODY) {
            return;
          }
          in.skipBytes(FrameCodec.LENGTH_FIELD_BYTES + ACK_BODY);
          continue;
        }
        if (type != DATA || length > FrameCodec.DEFAULT_MAX_FRAME_SIZE) {
          Frame f = FrameDecoder.decodeOne(in, FrameCodec.DEFAULT_MAX_FRAME_SIZE);
          if (f == null) {
            return;
          }
          other(f);
          continue;
        }
        if (in.readableBytes() < FrameCodec.LENGTH_FIELD_BYTES + length) {
          return;
        }
        int p = r + FrameCodec.LENGTH_FIELD_BYTES + 1;
        lastSeq = in.getLong(p);
        p += 9; // seq, target kind
        p += 2 + in.getUnsignedShort(p); // target
        p += 2 + in.getUnsignedShort(p); // from
        p += 4; // payload length
        in.readerIndex(r + FrameCodec.LENGTH_FIELD_BYTES + (int) length);
        sink.delivered(in.getLong(p), in.getLong(p + 8));
        if (++unacked >= acks.messages()) {
          ack(ctx, false);
        }
      }
    }

    private void other(Frame f) {
      if (f instanceof Frame.Welcome && !subscribeAckPending) {
        sink.ready();
      } else if (f instanceof Frame.Ack && subscribeAckPending) {
        subscribeAckPending = false;
        sink.ready();
      } else if (f instanceof Frame.Error || f instanceof Frame.GoAway) {
        sink.failed(f.toString());
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
      if (unacked > 0) {
        if (acks.delayNanos() == 0) {
          ack(ctx, false);
        } else if (ackTimer == null) {
          ackTimer = ctx.executor().schedule(() -> {
            ackTimer = null;
            if (unacked > 0) {
              ack(ctx, true);
            }
          }, acks.delayNanos(), TimeUnit.NANOSECONDS);
        }
      }
      ctx.flush();
      super.channelReadComplete(ctx);
    }

    private void ack(ChannelHandlerContext ctx, boolean flush) {
      unacked = 0;
      if (ackTimer != null) {
        ackTimer.cancel(false);
        ackTimer = null;
      }
      ctx.write(FrameCodec.encode(ctx.alloc(), new Frame.Ack(lastSeq)), ctx.voidPromise());
      if (flush) {
        ctx.flush();
      }
    }
  }

  private static final byte DATA = (byte) FrameType.DATA.code();
  private static final byte ACK = (byte) FrameType.ACK.code();
  /** An ACK frame after its length prefix: type and seq. */
  private static final int ACK_BODY = 1 + 8;

  /** NATS text protocol: INFO, +OK, PING (answered), PONG (the login is in), -ERR, MSG. */
  private static final class NatsDecoder extends ByteToMessageDecoder {
    private final Sink sink;
    private boolean ready;

    NatsDecoder(Sink sink) {
      this.sink = sink;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      while (true) {
        int r = in.readerIndex();
        int eol = in.indexOf(r, in.writerIndex(), (byte) '\n');
        if (eol < 0) {
          return;
        }
        int lineLength = eol - r + 1;
        if (in.getByte(r) == 'M') { // MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n
          int size = 0;
          int i = eol - 2; // before \r
          int digits = 1;
          for (; in.getByte(i) != ' '; i--) {
            size += (in.getByte(i) - '0') * digits;
            digits *= 10;
          }
          if (in.readableBytes() < lineLength + size + 2) {
            return; // the payload is not all here yet
          }
          int p = eol + 1;
          in.readerIndex(p + size + 2);
          sink.delivered(in.getLong(p), in.getLong(p + 8));
          continue;
        }
        String line = in.toString(r, lineLength, StandardCharsets.US_ASCII).trim();
        in.skipBytes(lineLength);
        if (line.equals("PING")) {
          ctx.writeAndFlush(ctx.alloc().buffer(6).writeBytes("PONG\r\n".getBytes(StandardCharsets.US_ASCII)));
        } else if (line.equals("PONG") && !ready) {
          ready = true;
          sink.ready();
        } else if (line.startsWith("-ERR")) {
          sink.failed(line);
        }
      }
    }
  }

  /** MQTT 3.1.1: CONNACK, SUBACK, PUBLISH (acknowledged with PUBACK), PUBACK, PINGRESP. */
  private static final class MqttDecoder extends ByteToMessageDecoder {
    private final boolean subscribing;
    private final Sink sink;

    MqttDecoder(boolean subscribing, Sink sink) {
      this.subscribing = subscribing;
      this.sink = sink;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      while (in.readableBytes() >= 2) {
        int start = in.readerIndex();
        int type = in.getUnsignedByte(start);
        int length = 0;
        int multiplier = 1;
        int i = start + 1;
        int digit;
        do {
          if (i >= in.writerIndex()) {
            return;
          }
          digit = in.getUnsignedByte(i++);
          length += (digit & 0x7f) * multiplier;
          multiplier *= 128;
        } while ((digit & 0x80) != 0);
        if (in.writerIndex() - i < length) {
          return;
        }
        ByteBuf body = in.slice(i, length);
        in.readerIndex(i + length);
        switch (type >> 4) {
          case 2 -> { // CONNACK
            int code = body.getUnsignedByte(1);
            if (code != 0) {
              sink.failed("CONNACK " + code);
            } else if (!subscribing) {
              sink.ready();
            }
          }
          case 9 -> {
            if (body.getUnsignedByte(2) == 0x80) {
              sink.failed("SUBACK refused");
            } else {
              sink.ready();
            }
          }
          case 3 -> { // PUBLISH
            int qos = (type >> 1) & 3;
            int topicLength = body.readUnsignedShort();
            body.skipBytes(topicLength);
            int packetId = qos > 0 ? body.readUnsignedShort() : 0;
            if (qos > 0) {
              ctx.write(ctx.alloc().buffer(4).writeByte(0x40).writeByte(2).writeShort(packetId), ctx.voidPromise());
            }
            sink.delivered(body.getLong(body.readerIndex()), body.getLong(body.readerIndex() + 8));
          }
          default -> { } // PUBACK of our messages, PINGRESP
        }
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
      ctx.flush(); // the PUBACKs of this read
      super.channelReadComplete(ctx);
    }
  }
}
