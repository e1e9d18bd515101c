package io.longlink.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;

/**
 * The frame decoder against arbitrary bytes (docs/OPERATIONS.md, "Fuzzing"). Contract: every input
 * yields whole frames and then either more bytes needed or one {@link ProtocolException}; never
 * another exception, never a frame that does not survive encode and decode unchanged, never a
 * buffer left unreleased. Without {@code JAZZER_FUZZ} this replays the checked-in inputs under
 * {@code src/test/resources/.../FrameDecoderFuzzTestInputs}.
 */
class FrameDecoderFuzzTest {

  @FuzzTest
  void decodeOne(byte[] input) {
    ByteBuf in = Unpooled.wrappedBuffer(input);
    List<Frame> frames = new ArrayList<>();
    try {
      for (Frame f; (f = FrameDecoder.decodeOne(in, FrameCodec.HANDSHAKE_MAX_FRAME_SIZE)) != null; ) {
        frames.add(f);
      }
      boolean incomplete = in.readableBytes() < FrameCodec.LENGTH_FIELD_BYTES
          || in.readableBytes() < FrameCodec.LENGTH_FIELD_BYTES + in.getUnsignedInt(in.readerIndex());
      assertThat(incomplete).as("decoding stops only before an incomplete frame").isTrue();
    } catch (ProtocolException e) {
      assertThat(e.code()).as("a protocol error names its code").isNotNull();
    } finally {
      in.release();
    }
    for (Frame f : frames) {
      ByteBuf again = Unpooled.buffer();
      try {
        FrameCodec.encode(f, again);
        assertThat(FrameDecoder.decodeOne(again, FrameCodec.DEFAULT_MAX_FRAME_SIZE)).isEqualTo(f);
        assertThat(again.isReadable()).isFalse();
      } finally {
        again.release();
      }
    }
  }

  /** The same bytes through the pipeline handler, cut at fuzzed read boundaries: the same frames come out. */
  @FuzzTest
  void decoderWhateverTheReadBoundaries(FuzzedDataProvider data) {
    int cuts = data.consumeInt(0, 8);
    int[] at = new int[cuts];
    for (int i = 0; i < cuts; i++) {
      at[i] = data.consumeInt(0, 64);
    }
    byte[] input = data.consumeRemainingAsBytes();

    List<Frame> whole = new ArrayList<>();
    ProtocolException wholeError = null;
    ByteBuf in = Unpooled.wrappedBuffer(input);
    try {
      for (Frame f; (f = FrameDecoder.decodeOne(in, FrameCodec.HANDSHAKE_MAX_FRAME_SIZE)) != null; ) {
        whole.add(f);
      }
    } catch (ProtocolException e) {
      wholeError = e;
    } finally {
      in.release();
    }

    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(FrameCodec.HANDSHAKE_MAX_FRAME_SIZE));
    ProtocolException pieceError = null;
    int from = 0;
    for (int i = 0; i <= cuts && from <= input.length; i++) {
      int len = i < cuts ? Math.min(at[i], input.length - from) : input.length - from;
      try {
        ch.writeInbound(Unpooled.copiedBuffer(input, from, len));
      } catch (DecoderException e) {
        pieceError = pieceError != null ? pieceError : FrameDecoder.protocolCause(e);
        assertThat(pieceError).as("only protocol errors: %s", e).isNotNull();
      }
      from += len;
    }
    List<Frame> pieces = new ArrayList<>();
    for (Object f; (f = ch.readInbound()) != null; ) {
      pieces.add((Frame) f);
    }
    ch.finishAndReleaseAll();
    assertThat(pieces).isEqualTo(whole);
    assertThat(pieceError == null).isEqualTo(wholeError == null);
    if (wholeError != null) {
      assertThat(pieceError.code()).isEqualTo(wholeError.code());
    }
  }
}
