package io.longlink.bench;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.FrameDecoder;
import io.longlink.protocol.TargetKind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

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
    ByteBuf login(ByteBufAllocator a, String id, String subscribe) {
      ByteBuf b = FrameCodec.encode(a, Frame.Hello.newSession(id, ""));
      return subscribe == null ? b : a.compositeBuffer().addComponents(true, b,
          FrameCodec.encode(a, new Frame.Subscribe(1, subscribe)));
    }

    @Override
    ByteBuf message(ByteBufAllocator a, long index, String destination, boolean topic, byte[] payload) {
      return FrameCodec.encode(a, new Frame.Data(index, topic ? TargetKind.TOPIC : TargetKind.CLIENT, destination, "",
          payload));
    }

    @Override
    ChannelHandler decoder(boolean subscribing) {
      return new LonglinkDecoder(subscribing);
    }
  },

  NATS {
    @Override
    ByteBuf login(ByteBufAllocator a, String id, String subscribe) {
      String s = "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"" + id + "\"}\r\n"
          + (subscribe == null ? "" : "SUB " + subscribe + " 1\r\n") + "PING\r\n"; // PONG: all of it is in
      return a.buffer(s.length()).writeBytes(s.getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    ByteBuf message(ByteBufAllocator a, long index, String destination, boolean topic, byte[] payload) {
      String head = "PUB " + destination + " " + payload.length + "\r\n";
      return a.buffer(head.length() + payload.length + 2).writeBytes(head.getBytes(StandardCharsets.US_ASCII))
          .writeBytes(payload).writeByte('\r').writeByte('\n');
    }

    @Override
    ChannelHandler decoder(boolean subscribing) {
      return new NatsDecoder();
    }
  },

  MQTT {
    @Override
    ByteBuf login(ByteBufAllocator a, String id, String subscribe) {
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
    ByteBuf message(ByteBufAllocator a, long index, String destination, boolean topic, byte[] payload) {
      byte[] t = destination.getBytes(StandardCharsets.US_ASCII);
      ByteBuf b = a.buffer(8 + t.length + payload.length);
      b.writeByte(0x32); // PUBLISH, QoS 1
      writeLength(b, 2 + t.length + 2 + payload.length);
      b.writeShort(t.length).writeBytes(t).writeShort((int) (index % 65_535) + 1).writeBytes(payload);
      return b;
    }

    @Override
    ChannelHandler decoder(boolean subscribing) {
      return new MqttDecoder(subscribing);
    }
  };

  /** What a client learns from its server. */
  sealed interface Event permits Ready, Delivered, Failed {}

  /** Logged in (and subscribed): the flow may start. */
  record Ready() implements Event {}

  /** A message for this receiver. */
  record Delivered(byte[] payload) implements Event {}

  /** The server refused or broke off. */
  record Failed(String why) implements Event {}

  /** The login bytes: log in as {@code id} and, for a receiver, subscribe to {@code subscribe}. */
  abstract ByteBuf login(ByteBufAllocator a, String id, String subscribe);

  /** One message (the {@code index}-th, from 1) to {@code destination}. */
  abstract ByteBuf message(ByteBufAllocator a, long index, String destination, boolean topic, byte[] payload);

  /** A new decoder for one connection; {@code subscribing}: its login includes a subscription. */
  abstract ChannelHandler decoder(boolean subscribing);

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

  /** longlink frames; acknowledges what it received once per read batch. */
  private static final class LonglinkDecoder extends ByteToMessageDecoder {
    private boolean subscribeAckPending;
    private long lastSeq;
    private boolean unacked;

    LonglinkDecoder(boolean subscribing) {
      this.subscribeAckPending = subscribing;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      Frame f;
      while ((f = FrameDecoder.decodeOne(in, FrameCodec.DEFAULT_MAX_FRAME_SIZE)) != null) {
        if (f instanceof Frame.Data d) {
          lastSeq = d.seq();
          unacked = true;
          out.add(new Delivered(d.payload()));
        } else if (f instanceof Frame.Welcome && !subscribeAckPending) {
          out.add(new Ready());
        } else if (f instanceof Frame.Ack && subscribeAckPending) {
          subscribeAckPending = false;
          out.add(new Ready());
        } else if (f instanceof Frame.Error || f instanceof Frame.GoAway) {
          out.add(new Failed(f.toString()));
        }
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
      if (unacked) {
        unacked = false;
        ctx.writeAndFlush(FrameCodec.encode(ctx.alloc(), new Frame.Ack(lastSeq)), ctx.voidPromise());
      }
      super.channelReadComplete(ctx);
    }
  }

  /** Nothing for the peer (ACKs of our own messages, PONGs, ...). */
  enum Skip { INSTANCE }

  /** NATS text protocol: INFO, +OK, PING (answered), PONG (the login is in), -ERR, MSG. */
  private static final class NatsDecoder extends ByteToMessageDecoder {
    private boolean ready;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      while (true) {
        int eol = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
        if (eol < 0) {
          return;
        }
        int lineLength = eol - in.readerIndex() + 1;
        String line = in.toString(in.readerIndex(), lineLength, StandardCharsets.US_ASCII).trim();
        if (line.startsWith("MSG ")) {
          int size = Integer.parseInt(line.substring(line.lastIndexOf(' ') + 1));
          if (in.readableBytes() < lineLength + size + 2) {
            return; // the payload is not all here yet
          }
          in.skipBytes(lineLength);
          byte[] payload = new byte[size];
          in.readBytes(payload);
          in.skipBytes(2);
          out.add(new Delivered(payload));
          continue;
        }
        in.skipBytes(lineLength);
        if (line.equals("PING")) {
          ctx.writeAndFlush(ctx.alloc().buffer(6).writeBytes("PONG\r\n".getBytes(StandardCharsets.US_ASCII)));
        } else if (line.equals("PONG") && !ready) {
          ready = true;
          out.add(new Ready());
        } else if (line.startsWith("-ERR")) {
          out.add(new Failed(line));
        }
      }
    }
  }

  /** MQTT 3.1.1: CONNACK, SUBACK, PUBLISH (acknowledged with PUBACK), PUBACK, PINGRESP. */
  private static final class MqttDecoder extends ByteToMessageDecoder {
    private final boolean subscribing;

    MqttDecoder(boolean subscribing) {
      this.subscribing = subscribing;
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
            out.add(code != 0 ? new Failed("CONNACK " + code) : subscribing ? Skip.INSTANCE : new Ready());
          }
          case 9 -> out.add(body.getUnsignedByte(2) == 0x80 ? new Failed("SUBACK refused") : new Ready());
          case 3 -> { // PUBLISH
            int qos = (type >> 1) & 3;
            int topicLength = body.readUnsignedShort();
            body.skipBytes(topicLength);
            int packetId = qos > 0 ? body.readUnsignedShort() : 0;
            byte[] payload = new byte[body.readableBytes()];
            body.readBytes(payload);
            if (qos > 0) {
              ctx.write(ctx.alloc().buffer(4).writeByte(0x40).writeByte(2).writeShort(packetId), ctx.voidPromise());
            }
            out.add(new Delivered(payload));
          }
          default -> out.add(Skip.INSTANCE); // PUBACK of our messages, PINGRESP
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
