package io.longlink.bench;

import io.longlink.protocol.Frame;
import io.longlink.protocol.FrameCodec;
import io.longlink.protocol.FrameDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Just enough of each peer's protocol to log in, keep a connection alive and notice a refusal:
 * longlink, NATS core, MQTT 3.1.1, and plain TCP (for a bare Netty server that echoes). Replies
 * are tiny and one is outstanding per connection, so each is taken to arrive in one read.
 */
enum PeerProtocol {
  LONGLINK {
    @Override
    ByteBuf hello(ByteBufAllocator alloc, String id, String device) {
      return FrameCodec.encode(alloc, Frame.Hello.newSession(id, "", device));
    }

    @Override
    Reply read(ByteBuf in, ByteBufAllocator alloc) {
      Frame f;
      Reply r = Reply.NOTHING;
      while ((f = FrameDecoder.decodeOne(in, FrameCodec.DEFAULT_MAX_FRAME_SIZE)) != null) {
        if (f instanceof Frame.Welcome) {
          r = Reply.LOGGED_IN;
        } else if (f instanceof Frame.Error || f instanceof Frame.GoAway) {
          return Reply.REFUSED;
        }
      }
      return r;
    }

    @Override
    ByteBuf ping(ByteBufAllocator alloc) {
      return FrameCodec.encode(alloc, new Frame.Ping(1));
    }
  },

  NATS {
    private final byte[] connect = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n"
        .getBytes(StandardCharsets.US_ASCII);

    @Override
    ByteBuf hello(ByteBufAllocator alloc, String id, String device) {
      return alloc.buffer(connect.length).writeBytes(connect);
    }

    @Override
    Reply read(ByteBuf in, ByteBufAllocator alloc) {
      String text = in.toString(StandardCharsets.US_ASCII);
      in.skipBytes(in.readableBytes());
      if (text.contains("-ERR")) {
        return Reply.REFUSED;
      }
      if (text.contains("PING\r\n")) {
        return Reply.ANSWER_PING; // the server's own keepalive
      }
      return text.contains("PONG") ? Reply.LOGGED_IN : Reply.NOTHING;
    }

    @Override
    ByteBuf ping(ByteBufAllocator alloc) {
      return alloc.buffer(6).writeBytes("PING\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    ByteBuf pong(ByteBufAllocator alloc) {
      return alloc.buffer(6).writeBytes("PONG\r\n".getBytes(StandardCharsets.US_ASCII));
    }
  },

  MQTT {
    @Override
    ByteBuf hello(ByteBufAllocator alloc, String id, String device) {
      byte[] clientId = id.getBytes(StandardCharsets.UTF_8);
      int remaining = 10 + 2 + clientId.length;
      ByteBuf b = alloc.buffer(2 + remaining);
      b.writeByte(0x10).writeByte(remaining); // CONNECT; ids stay short, so one length byte
      b.writeShort(4).writeBytes("MQTT".getBytes(StandardCharsets.US_ASCII)).writeByte(4); // 3.1.1
      b.writeByte(0x02).writeShort(300); // clean session, keepalive 300 s
      b.writeShort(clientId.length).writeBytes(clientId);
      return b;
    }

    @Override
    Reply read(ByteBuf in, ByteBufAllocator alloc) {
      Reply r = Reply.NOTHING;
      while (in.readableBytes() >= 2) {
        int type = in.readUnsignedByte() >> 4;
        int len = in.readUnsignedByte();
        if (type == 2) { // CONNACK: return code in the second byte
          if (len < 2 || in.readableBytes() < 2 || in.getUnsignedByte(in.readerIndex() + 1) != 0) {
            return Reply.REFUSED;
          }
          r = Reply.LOGGED_IN;
        }
        in.skipBytes(Math.min(len, in.readableBytes()));
      }
      return r;
    }

    @Override
    ByteBuf ping(ByteBufAllocator alloc) {
      return alloc.buffer(2).writeByte(0xC0).writeByte(0); // PINGREQ
    }
  },

  /** A bare TCP server that echoes: connected is logged in; a heartbeat is one byte. */
  TCP {
    @Override
    ByteBuf hello(ByteBufAllocator alloc, String id, String device) {
      return null;
    }

    @Override
    Reply read(ByteBuf in, ByteBufAllocator alloc) {
      in.skipBytes(in.readableBytes());
      return Reply.NOTHING;
    }

    @Override
    ByteBuf ping(ByteBufAllocator alloc) {
      return alloc.buffer(1).writeByte('.');
    }
  };

  /** What a read meant. */
  enum Reply {
    NOTHING,
    LOGGED_IN,
    REFUSED,
    ANSWER_PING
  }

  /**
   * The login message, or {@code null} if connecting is all it takes; {@code device} is empty but
   * for longlink's devices (the caller checks).
   */
  abstract ByteBuf hello(ByteBufAllocator alloc, String id, String device);

  /** Interprets (and consumes) what the server sent. */
  abstract Reply read(ByteBuf in, ByteBufAllocator alloc);

  /** The client heartbeat. */
  abstract ByteBuf ping(ByteBufAllocator alloc);

  /** The answer to a server heartbeat; only for protocols whose server pings. */
  ByteBuf pong(ByteBufAllocator alloc) {
    throw new UnsupportedOperationException(name() + " servers do not ping");
  }
}
