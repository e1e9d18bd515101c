import { test } from "node:test";
import assert from "node:assert/strict";
import { encode, FrameDecoder, ProtocolError, decodeBody } from "../src/codec.js";
import type { Frame } from "../src/codec.js";
import { concat } from "./scripted-gateway.js";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const utf8 = (s: string) => new TextEncoder().encode(s);

// The worked examples of docs/PROTOCOL.md section 8, byte for byte.
const examples: [string, Frame, string][] = [
  ["HELLO alice", { type: 0x01, version: 1, clientId: "alice", token: "", resumeSessionId: "", lastReceivedSeq: 0, attemptStamp: 0 },
    "0000001e 01 0001 0005616c696365 0000 0000 0000000000000000 0000000000000000"],
  ["WELCOME", { type: 0x02, version: 1, sessionId: "0123456789abcdef0123456789abcdef", sessionStatus: 0, lastReceivedSeq: 0,
    lostMessages: 0, heartbeatIntervalMs: 30000, heartbeatMisses: 3, maxFrameSize: 1048576, backoffInitialMs: 1000,
    backoffMaxMs: 60000, sessionRetentionMs: 120000 },
    "0000004b 02 0001 0020 30313233343536373839616263646566 30313233343536373839616263646566 00 0000000000000000 0000000000000000 00007530 03 00100000 000003e8 0000ea60 0001d4c0"],
  ["DATA hello to bob", { type: 0x10, seq: 1, targetKind: 1, target: "bob", from: "", payload: utf8("hello") },
    "0000001a 10 0000000000000001 01 0003626f62 0000 0000000568656c6c6f"],
  ["ACK 1", { type: 0x11, seq: 1 }, "00000009 11 0000000000000001"],
  ["DATA from alice", { type: 0x10, seq: 1, targetKind: 1, target: "bob", from: "alice", payload: utf8("hello") },
    "0000001f 10 0000000000000001 01 0003626f62 0005616c696365 0000000568656c6c6f"],
  ["PING 42", { type: 0x03, timestamp: 42 }, "00000009 03 000000000000002a"],
  ["PONG 42", { type: 0x04, timestamp: 42 }, "00000009 04 000000000000002a"],
];

for (const [name, frame, bytes] of examples) {
  test(`worked example ${name}: encodes to the spec's bytes and decodes back`, () => {
    assert.deepEqual(encode(frame), hex(bytes));
    assert.deepEqual(new FrameDecoder(1 << 20).push(hex(bytes)), [frame]);
  });
}

test("every frame type survives a round trip, whatever the read boundaries", () => {
  const frames: Frame[] = [
    { type: 0x12, seq: 2 ** 53 - 1, topic: "news/é" },
    { type: 0x13, seq: 3, topic: "news" },
    { type: 0x14, fromSeq: 4, toSeq: 9 },
    { type: 0x15, seq: 5, code: 14, message: "forbidden" },
    { type: 0x20, code: 31, reason: "drain", reconnectDelayMs: 250, alternativeEndpoint: "127.0.0.2:7002" },
    { type: 0x21, code: 1, message: "bad" },
    { type: 0x22, code: 0, reason: "bye" },
    { type: 0x23, expiresInMs: 60000 },
    { type: 0x24, token: "t" },
    { type: 0x30, requestId: 7, deadline: 1_700_000_000_000, target: "x", from: "", payload: utf8("q") },
    { type: 0x31, requestId: 7, code: 0, message: "", payload: utf8("a") },
    { type: 0x32, requestId: 7 },
  ];
  const stream = concat(frames.map(encode));
  for (const step of [1, 2, 3, 7, 64, stream.length]) {
    const d = new FrameDecoder(1 << 20);
    const out: Frame[] = [];
    for (let i = 0; i < stream.length; i += step) out.push(...d.push(stream.slice(i, i + step)));
    assert.deepEqual(out, frames, `chunks of ${step}`);
    assert.equal(d.buffered, 0);
  }
});

const bad: [string, string, number][] = [
  ["length 0", "00000000", 1],
  ["over the max frame size", "00100001 10", 3],
  ["unknown type", "00000001 7f", 4],
  ["trailing bytes", "0000000a 11 0000000000000001 00", 1],
  ["truncated body", "00000005 11 00000000", 1],
  ["malformed UTF-8", "00000005 24 0002 c0af", 1],
  ["a lone surrogate", "00000006 24 0003 eda080", 1],
  ["u64 beyond 2^53", "00000009 11 0020000000000000", 1],
  ["u32 beyond 2^31", "00000005 23 80000000", 1],
  ["GAP with toSeq < fromSeq", "00000011 14 0000000000000005 0000000000000004", 1],
  ["GAP from 0", "00000011 14 0000000000000000 0000000000000004", 1],
  ["DATA with target kind 4", "00000012 10 0000000000000001 04 0000 0000 00000000", 1],
  ["WELCOME status 3", "0000002b 02 0001 0000 03 0000000000000000 0000000000000000 00007530 03 00100000 000003e8 0000ea60 0001d4c0", 1],
];

for (const [name, bytes, code] of bad) {
  test(`refuses ${name} with code ${code}`, () => {
    assert.throws(() => new FrameDecoder(1 << 20).push(hex(bytes)), (e: unknown) => e instanceof ProtocolError && e.code === code);
  });
}

test("an oversized frame is refused from its length alone, before its body arrives", () => {
  assert.throws(() => new FrameDecoder(100).push(hex("00000065")), (e: unknown) => e instanceof ProtocolError && e.code === 3);
});

test("decodeBody keeps payload bytes independent of the input buffer", () => {
  const b = hex("10 0000000000000001 02 0001 74 0000 00000002 6869");
  const f = decodeBody(b);
  b.fill(0);
  assert.deepEqual(f.type === 0x10 && [...f.payload], [0x68, 0x69]);
});

test("the encoder refuses fields out of range", () => {
  assert.throws(() => encode({ type: 0x11, seq: -1 }), RangeError);
  assert.throws(() => encode({ type: 0x11, seq: 2 ** 53 }), RangeError);
  assert.throws(() => encode({ type: 0x23, expiresInMs: 2 ** 31 }), RangeError);
  assert.throws(() => encode({ type: 0x24, token: "x".repeat(70_000) }), RangeError);
});

test("version 3: HELLO carries the device id, WELCOME the heartbeat bounds, DATA may target a user", () => {
  const hello: Frame = { type: 0x01, version: 3, clientId: "alice", token: "", resumeSessionId: "", lastReceivedSeq: 0,
    attemptStamp: 0, deviceId: "phone" };
  const bytes = "00000025 01 0003 0005616c696365 0000 0000 0000000000000000 0000000000000000 000570686f6e65";
  assert.deepEqual(encode(hello), hex(bytes));
  assert.deepEqual(new FrameDecoder(1 << 20).push(hex(bytes)), [hello]);
  const welcome: Frame = { type: 0x02, version: 3, sessionId: "s", sessionStatus: 0, lastReceivedSeq: 0, lostMessages: 0,
    heartbeatIntervalMs: 30000, heartbeatMisses: 3, maxFrameSize: 1 << 20, backoffInitialMs: 1000, backoffMaxMs: 60000,
    sessionRetentionMs: 120000, heartbeatMinMs: 10000, heartbeatMaxMs: 300000 };
  assert.deepEqual(new FrameDecoder(1 << 20).push(encode(welcome)), [welcome]);
  const toUser: Frame = { type: 0x10, seq: 1, targetKind: 3, target: "alice", from: "", payload: utf8("hi") };
  assert.deepEqual(encode(toUser), hex("00000019 10 0000000000000001 03 0005616c696365 0000 000000026869"));
  assert.throws(() => new FrameDecoder(1 << 20).push(hex("00000019 10 0000000000000001 04 0005616c696365 0000 000000026869")),
    ProtocolError);
});
