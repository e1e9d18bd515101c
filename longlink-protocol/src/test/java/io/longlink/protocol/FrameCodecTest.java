package io.longlink.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FrameCodecTest {

  // The worked examples of docs/PROTOCOL.md section 8, byte for byte.
  static final String HELLO_ALICE = "0000001e 01 0001 0005616c696365 0000 0000 0000000000000000 0000000000000000";
  static final String WELCOME = "0000004b 02 0001 0020" + hex("0123456789abcdef0123456789abcdef")
      + "00 0000000000000000 0000000000000000 00007530 03 00100000 000003e8 0000ea60 0001d4c0";
  static final String DATA_TO_BOB = "0000001a 10 0000000000000001 01 0003626f62 0000 0000000568656c6c6f";
  static final String DATA_FOR_BOB = "0000001f 10 0000000000000001 01 0003626f62 0005616c696365 0000000568656c6c6f";
  static final String ACK_1 = "00000009 11 0000000000000001";
  static final String PING_42 = "00000009 03 000000000000002a";

  @Test
  void workedExamplesMatchTheSpec() {
    assertEncodes(Frame.Hello.newSession("alice", ""), HELLO_ALICE);
    assertEncodes(new Frame.Welcome(1, "0123456789abcdef0123456789abcdef", SessionStatus.NEW, 0, 0, 30_000, 3,
        1 << 20, 1000, 60_000, 120_000), WELCOME);
    assertEncodes(new Frame.Data(1, TargetKind.CLIENT, "bob", "", bytes("hello")), DATA_TO_BOB);
    assertEncodes(new Frame.Data(1, TargetKind.CLIENT, "bob", "alice", bytes("hello")), DATA_FOR_BOB);
    assertEncodes(new Frame.Ack(1), ACK_1);
    assertEncodes(new Frame.Ping(42), PING_42);
    assertEncodes(new Frame.Pong(42), PING_42.replace(" 03 ", " 04 "));
  }

  @Test
  void versionTwoWelcomeCarriesTheHeartbeatBoundsAndHeartbeatItsInterval() {
    String v2 = "00000053 02 0002 0020" + hex("0123456789abcdef0123456789abcdef")
        + "00 0000000000000000 0000000000000000 00007530 03 00100000 000003e8 0000ea60 0001d4c0 00002710 000493e0";
    assertEncodes(new Frame.Welcome(2, "0123456789abcdef0123456789abcdef", SessionStatus.NEW, 0, 0, 30_000, 3,
        1 << 20, 1000, 60_000, 120_000, 10_000, 300_000), v2);
    assertEncodes(new Frame.Heartbeat(45_000), "00000005 05 0000afc8");
    // Version 1 has no bounds on the wire; they decode as the fixed interval.
    Frame.Welcome v1 = (Frame.Welcome) decode(WELCOME);
    assertThat(v1.heartbeatMinMs()).isEqualTo(30_000);
    assertThat(v1.heartbeatMaxMs()).isEqualTo(30_000);
    String inverted = v2.replace("00002710 000493e0", "00009c40 000493e0"); // min 40 s above the 30 s interval
    assertThatThrownBy(() -> decode(inverted)).isInstanceOf(ProtocolException.class)
        .hasMessageContaining("heartbeat bounds 40000..300000 ms around interval 30000 ms");
    assertThatThrownBy(() -> decode(v2.replace("00000053", "0000004b").replace(" 00002710 000493e0", "")))
        .isInstanceOf(ProtocolException.class);
  }

  @Test
  void versionThreeHelloCarriesTheDeviceIdAndDataMayGoToAUser() {
    // HELLO v3: the version 1 fields, then deviceId "phone".
    String v3 = "00000025 01 0003 0005616c696365 0000 0000 0000000000000000 0000000000000000 000570686f6e65";
    assertEncodes(new Frame.Hello(3, "alice", "", "", 0, 0, "phone"), v3);
    assertEncodes(new Frame.Hello(3, "alice", "", "", 0, 0, ""), "00000020 01 0003 0005616c696365 0000 0000 "
        + "0000000000000000 0000000000000000 0000");
    // Versions 1 and 2 have no device id on the wire, and cannot carry one.
    assertThat(((Frame.Hello) decode(HELLO_ALICE)).deviceId()).isEmpty();
    assertThatThrownBy(() -> new Frame.Hello(2, "alice", "", "", 0, 0, "phone"))
        .hasMessageContaining("deviceId: \"phone\" in a version 2 HELLO (expected: version >= 3)");
    assertRejected("01 0003 0005616c696365 0000 0000 0000000000000000 0000000000000000 000107", ErrorCode.PROTOCOL_ERROR,
        "control character");
    // A later version's HELLO decodes as far as this codec knows it, so the answer can be UNSUPPORTED_VERSION.
    assertThat(((Frame.Hello) decode("00000021 01 0004 0005616c696365 0000 0000 0000000000000000 0000000000000000 "
        + "00ffee")).version()).isEqualTo(4);
    // A DATA to user alice (kind 3); the target follows the client id's rules.
    assertEncodes(new Frame.Data(1, TargetKind.USER, "alice", "", bytes("hi")),
        "00000019 10 0000000000000001 03 0005616c696365 0000 000000026869");
    assertRejected("10 0000000000000001 03 0000 0000 000000026869", ErrorCode.PROTOCOL_ERROR, "clientId: 0 UTF-8 bytes");
  }

  @Test
  void aDataTailEncodedOnceMakesTheSameFrameUnderAnyNumber() {
    byte[] tail = FrameCodec.encodeDataTail(TargetKind.CLIENT, "bob", "alice", bytes("hello"));
    ByteBuf b = Unpooled.buffer();
    FrameCodec.encodeData(1, tail, b);
    assertThat(ByteBufUtil.hexDump(b)).isEqualTo(DATA_FOR_BOB.replace(" ", ""));
    assertThat(b.readableBytes()).isEqualTo(FrameCodec.dataFrameSize(tail));
    b.clear();
    FrameCodec.encodeData(1L << 40, tail, b);
    b.skipBytes(FrameCodec.LENGTH_FIELD_BYTES);
    assertThat(FrameCodec.decode(b)).isEqualTo(new Frame.Data(1L << 40, TargetKind.CLIENT, "bob", "alice", bytes("hello")));
    assertThatThrownBy(() -> FrameCodec.encodeDataTail(TargetKind.TOPIC, "", "alice", bytes("x")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aDataFrameWrittenFromItsFieldsIsTheSpecsFrame() {
    ByteBuf b = Unpooled.buffer();
    FrameCodec.encodeData(1, TargetKind.CLIENT, "bob", "alice", bytes("hello"), b);
    assertThat(ByteBufUtil.hexDump(b)).isEqualTo(clean(DATA_FOR_BOB));
    assertThat(b.readableBytes()).isEqualTo(FrameCodec.dataFrameSize(TargetKind.CLIENT, "bob", "alice", bytes("hello")));
    assertThatThrownBy(() -> FrameCodec.encodeData(1, TargetKind.CLIENT, "", "alice", bytes("x"), Unpooled.buffer()))
        .hasMessageContaining("clientId: 0 UTF-8 bytes");
    assertThatThrownBy(() -> FrameCodec.encodeData(-1, TargetKind.CLIENT, "bob", "", bytes("x"), Unpooled.buffer()))
        .hasMessageContaining("seq: -1");
  }

  @Test
  void aRepeatedStringIsDecodedOnceAndStillCheckedAgainstEachFieldsRule() {
    Frame.Data first = (Frame.Data) decodeBody(DATA_FOR_BOB.substring(9));
    Frame.Data second = (Frame.Data) decodeBody(DATA_FOR_BOB.substring(9));
    assertThat(second).isEqualTo(first);
    assertThat(second.target()).isSameAs(first.target()); // not allocated again
    assertThat(second.from()).isSameAs(first.from());
    // The same bytes as another field (a topic), and bytes that differ only in the last one.
    assertThat(((Frame.Data) decodeBody("10 0000000000000001 02 0003626f62 0000 00000000")).target()).isEqualTo("bob");
    assertThat(((Frame.Data) decodeBody("10 0000000000000001 01 0003626f63 0000 00000000")).target()).isEqualTo("boc");
    // A string remembered for a field without the control-character rule is still refused where the rule applies.
    decodeBody("30 0000000000000007 0000000000000000 0000 0000 00000000"); // a request: empty target and sender
    Frame.Error e = (Frame.Error) decodeBody("21 0001 0002 0a62");
    assertThat(e.message()).isEqualTo("\nb");
    assertRejected("10 0000000000000001 01 0002 0a62 0000 00000000", ErrorCode.PROTOCOL_ERROR, "control character");
    // Non-ASCII UTF-8 decodes (and repeats) correctly; malformed UTF-8 is refused.
    assertThat(((Frame.Data) decodeBody("10 0000000000000001 01 0002c3a9 0000 00000000")).target()).isEqualTo("\u00e9");
    assertThat(((Frame.Data) decodeBody("10 0000000000000001 01 0002c3a9 0000 00000000")).target()).isEqualTo("\u00e9");
    assertRejected("10 0000000000000001 01 0002c328 0000 00000000", ErrorCode.PROTOCOL_ERROR, "malformed UTF-8");
  }

  @Test
  void gapEncodesBothEndsAndRejectsAnEmptyOrBackwardRange() {
    assertEncodes(new Frame.Gap(3, 7), "00000011 14 0000000000000003 0000000000000007");
    assertThat(new Frame.Gap(3, 7).count()).isEqualTo(5);
    assertRejected("14 0000000000000007 0000000000000003", ErrorCode.PROTOCOL_ERROR, "gap 7..3");
    assertRejected("14 0000000000000000 0000000000000003", ErrorCode.PROTOCOL_ERROR, "gap 0..3");
    assertThatThrownBy(() -> new Frame.Gap(5, 4)).hasMessageContaining("gap 5..4 (expected: 1 <= fromSeq <= toSeq)");
  }

  @Test
  void rejectCarriesTheSeqACodeAndWhy() {
    assertEncodes(new Frame.Reject(9, ErrorCode.UNAVAILABLE, "x"),
        "0000000e 15 0000000000000009 0040 0001 78");
  }

  @Test
  void requestResponseAndCancelHaveTheSpecsLayout() {
    assertEncodes(new Frame.Request(7, 1_700_000_000_000L, bytes("hi")),
        "0000001b 30 0000000000000007 0000018bcfe56800 0000 0000 00000002 6869");
    assertEncodes(new Frame.Request(7, 1_700_000_000_000L, "bob", "alice", bytes("hi")),
        "00000023 30 0000000000000007 0000018bcfe56800 0003626f62 0005616c696365 00000002 6869");
    assertEncodes(Frame.Response.ok(7, bytes("ok")), "00000013 31 0000000000000007 0000 0000 00000002 6f6b");
    assertEncodes(Frame.Response.failed(7, ErrorCode.REQUEST_FAILED, "x"),
        "00000012 31 0000000000000007 003d 000178 00000000");
    assertEncodes(new Frame.Cancel(7), "00000009 32 0000000000000007");
  }

  @Test
  void unknownTypeIsTyped() {
    assertRejected("7f", ErrorCode.UNKNOWN_FRAME_TYPE, "0x7f");
  }

  @Test
  void trailingBytesAreRejected() {
    assertRejected("11 0000000000000001 00", ErrorCode.PROTOCOL_ERROR, "trailing");
  }

  @Test
  void truncatedBodyIsRejected() {
    assertRejected("11 00000000", ErrorCode.PROTOCOL_ERROR, "truncated seq");
  }

  @Test
  void overlongUtf8IsRejected() {
    // "/" encoded as the overlong pair c0 af in the client id
    assertRejected("01 0001 0002c0af 0000 0000 0000000000000000 0000000000000000", ErrorCode.PROTOCOL_ERROR, "UTF-8");
  }

  @Test
  void surrogateUtf8IsRejected() {
    assertRejected("01 0001 0003eda080 0000 0000 0000000000000000 0000000000000000", ErrorCode.PROTOCOL_ERROR, "UTF-8");
  }

  @Test
  void truncatedUtf8SequenceIsRejected() {
    assertRejected("01 0001 000261e2 0000 0000 0000000000000000 0000000000000000", ErrorCode.PROTOCOL_ERROR, "UTF-8");
  }

  @Test
  void emptyAndControlCharacterClientIdsAreRejected() {
    assertRejected("01 0001 0000 0000 0000 0000000000000000 0000000000000000", ErrorCode.PROTOCOL_ERROR, "clientId: 0 UTF-8 bytes");
    assertRejected("01 0001 000107 0000 0000 0000000000000000 0000000000000000", ErrorCode.PROTOCOL_ERROR, "control character");
  }

  @Test
  void seqAtOrAbove2pow63IsRejected() {
    assertRejected("11 8000000000000000", ErrorCode.PROTOCOL_ERROR, "seq: 9223372036854775808");
  }

  @Test
  void badTargetKindIsRejected() {
    assertRejected("10 0000000000000001 04 0003626f62 0000 0000000568656c6c6f", ErrorCode.PROTOCOL_ERROR,
        "targetKind: 4 (expected: 1 CLIENT, 2 TOPIC or 3 USER)");
  }

  @Test
  void payloadLongerThanFrameIsRejected() {
    assertRejected("10 0000000000000001 01 0003626f62 0000 0000000968656c6c6f", ErrorCode.PROTOCOL_ERROR,
        "truncated payload");
  }

  @Test
  void unknownErrorCodesAreKeptNotRejected() {
    Frame f = decodeBody("21 ffff 0000");
    assertThat(f).isEqualTo(new Frame.Error(ErrorCode.OTHER, 0xffff, ""));
  }

  @Test
  void encoderRefusesValuesTheSpecForbids() {
    assertThatThrownBy(() -> FrameCodec.encode(Frame.Hello.newSession("", ""), Unpooled.buffer()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("clientId: 0 UTF-8 bytes (expected: 1..128)");
    assertThatThrownBy(() -> FrameCodec.encode(new Frame.Subscribe(1, "x".repeat(257)), Unpooled.buffer()))
        .hasMessageContaining("topic: 257 UTF-8 bytes (expected: 1..256)");
    assertThatThrownBy(() -> FrameCodec.encode(new Frame.Ack(-1), Unpooled.buffer()))
        .hasMessageContaining("seq: -1 (expected: >= 0)");
  }

  @Test
  void helloToStringHidesTheToken() {
    assertThat(Frame.Hello.newSession("a", "secret").toString()).doesNotContain("secret");
  }

  static void assertEncodes(Frame frame, String hex) {
    ByteBuf buf = Unpooled.buffer();
    FrameCodec.encode(frame, buf);
    assertThat(ByteBufUtil.hexDump(buf)).as(frame.toString()).isEqualTo(clean(hex));
    assertThat(decode(hex)).isEqualTo(frame);
  }

  static Frame decode(String hex) {
    ByteBuf buf = Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(clean(hex)));
    long length = buf.readUnsignedInt();
    assertThat(buf.readableBytes()).as("length prefix of " + hex).isEqualTo(length);
    return FrameCodec.decode(buf);
  }

  /** Decodes a frame given as type byte and body; the length prefix is implied. */
  static Frame decodeBody(String hex) {
    return FrameCodec.decode(Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(clean(hex))));
  }

  static void assertRejected(String typeAndBodyHex, ErrorCode code, String messagePart) {
    assertThatThrownBy(() -> decodeBody(typeAndBodyHex))
        .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(code))
        .hasMessageContaining(messagePart);
  }

  static String clean(String hex) {
    return hex.replace(" ", "");
  }

  static String hex(String ascii) {
    return ByteBufUtil.hexDump(ascii.getBytes(StandardCharsets.US_ASCII));
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
