package io.longlink.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {

  @Test
  void oversizedLengthFailsBeforeTheBodyArrivesAndDiscardsTheRest() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(100));
    ByteBuf header = Unpooled.buffer().writeInt(101).writeByte(0x10);
    assertThatThrownBy(() -> ch.writeInbound(header))
        .isInstanceOf(DecoderException.class)
        .satisfies(e -> {
          ProtocolException p = FrameDecoder.protocolCause(e);
          assertThat(p.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
          assertThat(p).hasMessage("frame length 101 (expected: <= 100)");
        });
    ByteBuf valid = Unpooled.buffer();
    FrameCodec.encode(new Frame.Ping(1), valid);
    ch.writeInbound(valid);
    assertThat((Object) ch.readInbound()).isNull();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void zeroLengthIsAProtocolError() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(100));
    assertThatThrownBy(() -> ch.writeInbound(Unpooled.buffer().writeInt(0)))
        .satisfies(e -> assertThat(FrameDecoder.protocolCause(e).code()).isEqualTo(ErrorCode.PROTOCOL_ERROR));
    ch.finishAndReleaseAll();
  }

  @Test
  void framesBeforeABadOneAreStillDelivered() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(100));
    ByteBuf buf = Unpooled.buffer();
    FrameCodec.encode(new Frame.Ping(7), buf);
    buf.writeInt(1).writeByte(0x7f);
    assertThatThrownBy(() -> ch.writeInbound(buf))
        .satisfies(e -> assertThat(FrameDecoder.protocolCause(e).code()).isEqualTo(ErrorCode.UNKNOWN_FRAME_TYPE));
    assertThat((Object) ch.readInbound()).isEqualTo(new Frame.Ping(7));
    ch.finishAndReleaseAll();
  }

  @Test
  void limitCanBeRaisedAfterTheHandshake() {
    FrameDecoder decoder = new FrameDecoder(FrameCodec.HANDSHAKE_MAX_FRAME_SIZE);
    EmbeddedChannel ch = new EmbeddedChannel(decoder);
    decoder.setMaxFrameSize(FrameCodec.DEFAULT_MAX_FRAME_SIZE);
    Frame big = new Frame.Data(1, TargetKind.TOPIC, "t", "", new byte[50_000]);
    ByteBuf buf = Unpooled.buffer();
    FrameCodec.encode(big, buf);
    ch.writeInbound(buf);
    assertThat((Object) ch.readInbound()).isEqualTo(big);
    assertThat(ch.finishAndReleaseAll()).isFalse();
    assertThatThrownBy(() -> decoder.setMaxFrameSize(0)).hasMessage("maxFrameSize: 0 (expected: >= 1)");
  }

  @Test
  void surrogatePairsRoundTripAndLoneSurrogatesAreRefused() {
    Frame f = new Frame.Subscribe(1, "chat-\uD83D\uDE00");
    ByteBuf buf = Unpooled.buffer();
    FrameCodec.encode(f, buf);
    buf.skipBytes(4);
    assertThat(FrameCodec.decode(buf)).isEqualTo(f);
    assertThatThrownBy(() -> FrameCodec.encode(new Frame.Subscribe(1, "x\uD83D"), Unpooled.buffer()))
        .hasMessageContaining("unpaired surrogate");
  }
}
