package io.longlink.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Property-based round trips and a randomized garbage/truncation/mutation attack on the decoder. */
class FrameCodecPropertiesTest {

  @Property(tries = 2000)
  void everyFrameRoundTrips(@ForAll("frames") Frame frame) {
    ByteBuf buf = Unpooled.buffer();
    FrameCodec.encode(frame, buf);
    assertThat(buf.readUnsignedInt()).isEqualTo(buf.readableBytes());
    assertThat(FrameCodec.decode(buf)).isEqualTo(frame);
  }

  @Property(tries = 500)
  void framesSplitAnywhereDecodeTheSame(@ForAll("framesList") List<Frame> frames, @ForAll @IntRange(min = 1, max = 64) int chunk) {
    ByteBuf all = Unpooled.buffer();
    frames.forEach(f -> FrameCodec.encode(f, all));
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(FrameCodec.DEFAULT_MAX_FRAME_SIZE));
    while (all.isReadable()) {
      ch.writeInbound(all.readRetainedSlice(Math.min(chunk, all.readableBytes())));
    }
    all.release();
    List<Frame> decoded = new ArrayList<>();
    for (Object o; (o = ch.readInbound()) != null; ) {
      decoded.add((Frame) o);
    }
    assertThat(decoded).isEqualTo(frames);
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  /** Random bytes: the decoder yields frames, waits for more, or fails with ProtocolException only. */
  @Property(tries = 3000)
  void garbageNeverEscapesAsAnythingButProtocolException(@ForAll @Size(max = 300) byte[] garbage) {
    assertOnlyTypedFailures(garbage);
  }

  /** Valid frames with one byte changed and cut at a random point. */
  @Property(tries = 3000)
  void mutatedAndTruncatedFramesFailTyped(@ForAll("frames") Frame frame, @ForAll @IntRange(min = 0, max = 10_000) int pos,
      @ForAll byte value, @ForAll @IntRange(min = 0, max = 10_000) int cut) {
    ByteBuf buf = Unpooled.buffer();
    FrameCodec.encode(frame, buf);
    byte[] bytes = new byte[buf.readableBytes()];
    buf.readBytes(bytes);
    bytes[pos % bytes.length] = value;
    int keep = bytes.length - (cut % (bytes.length + 1));
    byte[] truncated = java.util.Arrays.copyOf(bytes, keep);
    assertOnlyTypedFailures(truncated);
  }

  private static void assertOnlyTypedFailures(byte[] input) {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(4096));
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(input));
    } catch (DecoderException e) {
      assertThat(e.getCause()).isInstanceOf(ProtocolException.class);
      // After a failure, everything else is discarded silently.
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 1, 3}));
    }
    for (Object o; (o = ch.readInbound()) != null; ) {
      assertThat(o).isInstanceOf(Frame.class);
    }
    ch.finishAndReleaseAll();
  }

  @Provide
  Arbitrary<List<Frame>> framesList() {
    return frames().list().ofMaxSize(8);
  }

  @Provide
  Arbitrary<Frame> frames() {
    Arbitrary<String> ids = text(FieldRule.CLIENT_ID, 1, 40);
    Arbitrary<String> texts = text(FieldRule.TEXT, 0, 60);
    Arbitrary<Long> seqs = Arbitraries.longs().between(0, Long.MAX_VALUE);
    Arbitrary<Integer> u31 = Arbitraries.integers().between(0, Integer.MAX_VALUE);
    Arbitrary<byte[]> payloads = Arbitraries.bytes().array(byte[].class).ofMaxSize(200);
    Arbitrary<ErrorCode> codes = Arbitraries.of(ErrorCode.class).filter(c -> c != ErrorCode.OTHER);
    return Arbitraries.oneOf(
        Combinators.combine(Arbitraries.integers().between(0, 65535), ids, texts, text(FieldRule.SESSION_ID, 0, 40), seqs, seqs)
            .as(Frame.Hello::new),
        Combinators.combine(text(FieldRule.SESSION_ID, 0, 40), Arbitraries.of(SessionStatus.class), seqs, seqs, u31,
                Arbitraries.integers().between(0, 255), u31, u31)
            .as((id, st, a, b, hb, m, mf, bi) -> new Frame.Welcome(1, id, st, a, b, hb, m, mf, bi, 60_000, 120_000)),
        seqs.map(Frame.Ping::new),
        seqs.map(Frame.Pong::new),
        Combinators.combine(seqs, Arbitraries.of(TargetKind.class), ids, Arbitraries.oneOf(Arbitraries.just(""), ids), payloads)
            .as(Frame.Data::new),
        seqs.map(Frame.Ack::new),
        Combinators.combine(seqs, ids).as(Frame.Subscribe::new),
        Combinators.combine(seqs, ids).as(Frame.Unsubscribe::new),
        Combinators.combine(Arbitraries.longs().between(1, Long.MAX_VALUE / 2), Arbitraries.longs().between(0, Long.MAX_VALUE / 2))
            .as((from, extra) -> new Frame.Gap(from, from + extra)),
        Combinators.combine(seqs, codes, texts).as((seq, c, m) -> new Frame.Reject(seq, c, m)),
        Combinators.combine(seqs, seqs, Arbitraries.oneOf(Arbitraries.just(""), ids), Arbitraries.oneOf(Arbitraries.just(""), ids),
            payloads).as(Frame.Request::new),
        Combinators.combine(seqs, codes, texts, payloads).as((id, c, m, p) -> new Frame.Response(id, c, c.code(), m, p)),
        seqs.map(Frame.Cancel::new),
        Combinators.combine(codes, texts, u31, texts).as(Frame.GoAway::new),
        Combinators.combine(codes, texts).as(Frame.Error::new),
        Combinators.combine(codes, texts).as(Frame.Close::new));
  }

  /** Strings the rule accepts (up to {@code max} chars; 3-byte chars can make them too long). */
  private static Arbitrary<String> text(FieldRule rule, int min, int max) {
    return Arbitraries.strings()
        .withCharRange('\u0020', '\u007e')
        .withCharRange('\u00a0', '\ud7ff')
        .ofMinLength(min)
        .ofMaxLength(max)
        .filter(s -> rule.violation(s) == null);
  }
}
