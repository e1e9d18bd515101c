#!/usr/bin/env python3
"""The longlink conformance runner (protocol versions 1, 2 and 3): plays conformance/cases.json at the wire level against a gateway.

Written from docs/PROTOCOL.md alone, with the Python standard library only (it grew out of
docs/examples/python_client.py). Two ways to run it:

  # against gateways already running (any subset of transports)
  python3 conformance/run.py --tcp 127.0.0.1:7000 --ws ws://127.0.0.1:7002/longlink --admin http://127.0.0.1:7001

  # against the built jar: the runner starts the gateways it needs (short timers, a subscription limit),
  # and a TLS one when given a certificate (PEM) and the CA that signed it
  python3 conformance/run.py --jar longlink-app/target/longlink.jar [--tls-cert C --tls-key K --ca CA]

Prints one line per case and transport, and `N passed, M failed` last; exit code 1 if any failed.
"""
import argparse, base64, hashlib, json, os, re, socket, ssl, struct, subprocess, sys, time, urllib.request
from urllib.parse import urlparse

# ---- frames (PROTOCOL.md sections 2-4) ----
HEARTBEAT = 0x05
HELLO, WELCOME, PING, PONG, DATA, ACK, SUBSCRIBE, UNSUBSCRIBE, GAP, REJECT = 0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15
GOAWAY, ERROR, CLOSE, REAUTH, AUTH = 0x20, 0x21, 0x22, 0x23, 0x24
NAMES = {HELLO: "HELLO", WELCOME: "WELCOME", PING: "PING", PONG: "PONG", HEARTBEAT: "HEARTBEAT", DATA: "DATA", ACK: "ACK", SUBSCRIBE: "SUBSCRIBE",
         UNSUBSCRIBE: "UNSUBSCRIBE", GAP: "GAP", REJECT: "REJECT", GOAWAY: "GOAWAY", ERROR: "ERROR", CLOSE: "CLOSE",
         REAUTH: "REAUTH", AUTH: "AUTH", 0x30: "REQUEST", 0x31: "RESPONSE", 0x32: "CANCEL"}
CODES = dict(NORMAL=0, PROTOCOL_ERROR=1, UNSUPPORTED_VERSION=2, FRAME_TOO_LARGE=3, UNKNOWN_FRAME_TYPE=4, UNEXPECTED_FRAME=5,
             SEQUENCE_GAP=6, AUTH_FAILED=10, HANDSHAKE_TIMEOUT=11, RESUME_REFUSED=12, HEARTBEAT_TIMEOUT=20, REPLACED=30,
             SERVER_SHUTDOWN=31, KICKED=32, LIMIT_EXCEEDED=40, SLOW_CONSUMER=41, RATE_LIMITED=42)
CLIENT, TOPIC, USER = 1, 2, 3
NEW, RESUMED, LOST = 0, 1, 2


def s16(text):
    b = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack(">H", len(b)) + b


def frame(typ, body):
    return struct.pack(">IB", 1 + len(body), typ) + body


def hello(cid, token="", resume="", last=0, stamp=None, version=1, device=None):
    stamp = int(time.time() * 1000) if stamp is None else stamp
    body = struct.pack(">H", version) + s16(cid) + s16(token) + s16(resume) + struct.pack(">QQ", last, stamp)
    if version >= 3:
        body += s16(device or "")
    return frame(HELLO, body)


def data(seq, kind, target, payload, frm=""):
    return frame(DATA, struct.pack(">QB", seq, kind) + s16(target) + s16(frm) + struct.pack(">I", len(payload)) + payload)


def ack(seq): return frame(ACK, struct.pack(">Q", seq))
def ping(ts): return frame(PING, struct.pack(">Q", ts))
def heartbeat(interval_ms): return frame(HEARTBEAT, struct.pack(">I", interval_ms))
def subscribe(seq, topic): return frame(SUBSCRIBE, struct.pack(">Q", seq) + s16(topic))
def unsubscribe(seq, topic): return frame(UNSUBSCRIBE, struct.pack(">Q", seq) + s16(topic))
def close_frame(code=0, reason="bye"): return frame(CLOSE, struct.pack(">H", code) + s16(reason))


class Body:
    def __init__(self, b): self.b, self.i = b, 0
    def take(self, n):
        if self.i + n > len(self.b): raise Fail("frame ends early")
        v = self.b[self.i:self.i + n]; self.i += n; return v
    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack(">H", self.take(2))[0]
    def u32(self): return struct.unpack(">I", self.take(4))[0]
    def u64(self): return struct.unpack(">Q", self.take(8))[0]
    def s(self): return self.take(self.u16()).decode("utf-8")
    def bytes(self): return self.take(self.u32())


def parse(typ, body):
    r = Body(body)
    if typ == WELCOME:
        f = dict(version=r.u16(), session=r.s(), status=r.u8(), last=r.u64(), lost=r.u64(), hb=r.u32(), misses=r.u8(),
                 maxframe=r.u32(), binit=r.u32(), bmax=r.u32(), retention=r.u32())
        if f["version"] >= 2:
            f.update(hbmin=r.u32(), hbmax=r.u32())
    elif typ == DATA: f = dict(seq=r.u64(), kind=r.u8(), target=r.s(), frm=r.s(), payload=r.bytes())
    elif typ in (ACK,): f = dict(seq=r.u64())
    elif typ in (PING, PONG): f = dict(ts=r.u64())
    elif typ == GAP: f = dict(frm=r.u64(), to=r.u64())
    elif typ == REJECT: f = dict(seq=r.u64(), code=r.u16(), message=r.s())
    elif typ == GOAWAY: f = dict(code=r.u16(), reason=r.s(), delay=r.u32(), alt=r.s())
    elif typ == ERROR: f = dict(code=r.u16(), message=r.s())
    elif typ == CLOSE: f = dict(code=r.u16(), reason=r.s())
    elif typ == REAUTH: f = dict(expires=r.u32())
    else: f = dict(raw=body)
    if typ in NAMES and typ not in (0x30, 0x31, 0x32) and r.i != len(body):
        raise Fail(f"{NAMES[typ]} from the server has {len(body) - r.i} trailing bytes")
    f["type"] = NAMES.get(typ, hex(typ))
    return f


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


# ---- transports: a byte stream of frames over TCP, TLS or WebSocket (PROTOCOL.md 1, 1.1) ----
class Stream:
    """A connection's byte stream; subclasses move the bytes. recv returns b'' at the end of the stream."""
    ws_close_code = None

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.recv()
            except socket.timeout:
                raise Fail("timed out waiting for the server")
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        length = struct.unpack(">I", self.read_exact(4, deadline))[0]
        check(1 <= length <= 1 << 24, f"server frame length {length}")
        body = self.read_exact(length, deadline)
        return parse(body[0], body[1:])

    def until(self, kind, timeout=5.0, skip=("PING", "PONG", "ACK", "REAUTH")):
        """The next frame of `kind`, skipping the frame kinds in `skip`; anything else fails."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(max(0.01, deadline - time.monotonic()))
            if f["type"] == kind:
                return f
            if f["type"] == "PING":
                self.send(frame(PONG, struct.pack(">Q", f["ts"])))
            if f["type"] not in skip:
                raise Fail(f"expected {kind}, got {f}")

    def closed_within(self, timeout=5.0):
        """True when the server closes the connection within `timeout` (frames before that are ignored)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.read_frame(max(0.01, deadline - time.monotonic()))
        except (EOFError, ConnectionError, ssl.SSLError, OSError):
            return True
        except Fail:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class TcpStream(Stream):
    def __init__(self, host, port, tls=None):
        self.buf = b""
        s = socket.create_connection((host, port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = tls.wrap_socket(s, server_hostname=host) if tls else s

    def send(self, b): self.sock.sendall(b)
    def recv(self): return self.sock.recv(65536)


WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsStream(Stream):
    """RFC 6455 client: binary messages, masked; the server's messages' payloads are the byte stream."""

    def __init__(self, url, tls=None, protocols="longlink.v1", chunks=None):
        self.buf, self.raw = b"", b""
        u = urlparse(url)
        s = socket.create_connection((u.hostname, u.port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = tls.wrap_socket(s, server_hostname=u.hostname) if tls else s
        status, headers = ws_upgrade(self.sock, u, protocols)
        check(status == 101, f"upgrade answered HTTP {status}")
        check(headers.get("sec-websocket-accept") == headers["_expected_accept"], "bad Sec-WebSocket-Accept")
        check(headers.get("sec-websocket-protocol") == "longlink.v1", f"subprotocol {headers.get('sec-websocket-protocol')}")
        self.raw = headers.pop("_rest", b"")

    def send(self, b, opcode=2):
        self.sock.sendall(ws_frame(opcode, b))

    def recv(self):
        """Reads WebSocket frames until one carries data (answering pings); b'' when closed."""
        while True:
            parsed = self._ws_frame()
            if parsed is None:
                more = self.sock.recv(65536)
                if not more:
                    return b""
                self.raw += more
                continue
            opcode, payload = parsed
            if opcode in (0, 2):
                if payload:
                    return payload
            elif opcode == 8:
                self.ws_close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                return b""
            elif opcode == 9:
                self.sock.sendall(ws_frame(10, payload))
            elif opcode == 10:
                self.last_pong = payload
            elif opcode == 1:
                raise Fail("the server sent a text message")

    def _ws_frame(self):
        r = self.raw
        if len(r) < 2:
            return None
        opcode, n, at = r[0] & 0x0F, r[1] & 0x7F, 2
        check(not r[1] & 0x80, "the server masked a frame")
        if n == 126:
            if len(r) < 4: return None
            n, at = struct.unpack(">H", r[2:4])[0], 4
        elif n == 127:
            if len(r) < 10: return None
            n, at = struct.unpack(">Q", r[2:10])[0], 10
        if len(r) < at + n:
            return None
        self.raw = r[at + n:]
        return opcode, r[at:at + n]


def ws_frame(opcode, payload, fin=True):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126: head += bytes([0x80 | n])
    elif n < 65536: head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else: head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_upgrade(sock, u, protocols="longlink.v1", upgrade=True, path=None):
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path or u.path or '/'} HTTP/1.1", f"Host: {u.hostname}:{u.port}"]
    if upgrade:
        lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if protocols:
            lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(4096)
        if not chunk:
            break
        raw += chunk
    head, _, rest = raw.partition(b"\r\n\r\n")
    first, *hs = head.decode("latin-1").split("\r\n")
    status = int(first.split()[1]) if len(first.split()) > 1 else 0
    headers = {h.split(":", 1)[0].strip().lower(): h.split(":", 1)[1].strip() for h in hs if ":" in h}
    headers["_rest"] = rest
    headers["_expected_accept"] = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    return status, headers


# ---- the gateway under test ----
class Target:
    """One transport of one gateway: how to open connections to it."""

    def __init__(self, name, opener, admin=None, plain_tcp=None):
        self.name, self.opener, self.admin, self.plain_tcp = name, opener, admin, plain_tcp
        self.opened = []

    def raw(self):
        s = self.opener()
        self.opened.append(s)
        return s

    def login(self, cid, **kw):
        s = self.raw()
        s.send(hello(cid, **kw))
        w = s.until("WELCOME")
        return s, w

    def close_all(self):
        for s in self.opened:
            s.close()
        self.opened.clear()


CASES = {}


def case(cid):
    def register(fn):
        CASES[cid] = fn
        return fn
    return register


_n = [0]


def uid(t, what):
    _n[0] += 1
    return f"cf-{t.name}-{what}-{os.getpid()}-{_n[0]}"


def expect_error(s, code_name, timeout=5.0):
    f = s.until("ERROR", timeout)
    check(f["code"] == CODES[code_name], f"expected ERROR {code_name}, got {f}")
    check(s.closed_within(5), "the server did not close after its ERROR")
    return f


@case("login")
def _(t, o):
    s, w = t.login(uid(t, "a"))
    check(w["version"] == 1 and w["status"] == NEW and w["last"] == 0, f"welcome {w}")
    check(0 < len(w["session"].encode()) <= 64, "session id length")
    check(w["hb"] > 0 and w["misses"] > 0 and w["maxframe"] >= 8192, f"welcome {w}")
    check(w["bmax"] >= w["binit"] > 0, f"backoff {w['binit']}..{w['bmax']}")


@case("route-to-client")
def _(t, o):
    a, b = uid(t, "alice"), uid(t, "bob")
    bob, _ = t.login(b)
    alice, _ = t.login(a)
    alice.send(data(1, CLIENT, b, b"hello"))
    check(alice.until("ACK")["seq"] == 1, "ACK 1")
    d = bob.until("DATA")
    check((d["seq"], d["kind"], d["target"], d["frm"], d["payload"]) == (1, CLIENT, b, a, b"hello"), f"bob got {d}")
    bob.send(ack(1))


@case("devices-user-target")
def _(t, o):
    u, c = uid(t, "user"), uid(t, "carol")
    phone, w = t.login(u, version=3, device="phone")
    check(w["version"] == 3 and "hbmin" in w, f"a version 3 HELLO gets a version 3 WELCOME with the heartbeat bounds: {w}")
    laptop, _ = t.login(u, version=3, device="laptop")
    plain, _ = t.login(u)  # no device id: not one of the user's devices, and it replaces no device
    carol, _ = t.login(c)
    carol.send(data(1, USER, u, b"to every device"))
    check(carol.until("ACK")["seq"] == 1, "ACK 1")
    for dev in (phone, laptop):
        d = dev.until("DATA")
        check((d["seq"], d["kind"], d["target"], d["frm"], d["payload"]) == (1, USER, u, c, b"to every device"),
              f"a device got {d}")
        dev.send(ack(1))
    carol.send(data(2, CLIENT, u, b"to the client id"))
    d = plain.until("DATA")
    check((d["seq"], d["kind"], d["payload"]) == (1, CLIENT, b"to the client id"),
          f"the session without a device got only the client message, first: {d}")


@case("devices-same-device-replaces")
def _(t, o):
    u = uid(t, "user")
    first, _ = t.login(u, version=3, device="phone")
    other, _ = t.login(u, version=3, device="tablet")
    again, _ = t.login(u, version=3, device="phone")
    g = first.until("GOAWAY")
    check(g["code"] == CODES["REPLACED"], f"the phone's first session gets GOAWAY REPLACED: {g}")
    other.send(ping(7))
    check(other.until("PONG", skip=("PING", "ACK", "REAUTH"))["ts"] == 7, "the tablet is not disturbed")
    bad = t.raw()
    bad.send(hello(u, version=3, device="a\x07b"))
    expect_error(bad, "PROTOCOL_ERROR")


@case("route-to-topic")
def _(t, o):
    a, b, topic = uid(t, "alice"), uid(t, "bob"), uid(t, "topic")
    bob, _ = t.login(b)
    alice, _ = t.login(a)
    bob.send(subscribe(1, topic))
    check(bob.until("ACK")["seq"] == 1, "subscription ACK 1")
    alice.send(data(1, TOPIC, topic, b"news"))
    alice.until("ACK")
    d = bob.until("DATA")
    check((d["kind"], d["target"], d["frm"], d["payload"]) == (TOPIC, topic, a, b"news"), f"bob got {d}")
    bob.send(ack(d["seq"]) + unsubscribe(2, topic))
    check(bob.until("ACK")["seq"] == 2, "unsubscribe ACK 2")
    alice.send(data(2, TOPIC, topic, b"after") + data(3, CLIENT, b, b"marker"))
    alice.until("ACK")
    d = bob.until("DATA")
    check(d["payload"] == b"marker", f"after UNSUBSCRIBE bob got {d}")


@case("ack-cumulative")
def _(t, o):
    a, b = uid(t, "alice"), uid(t, "bob")
    bob, _ = t.login(b)
    alice, _ = t.login(a)
    alice.send(data(1, CLIENT, b, b"1") + data(2, CLIENT, b, b"2") + data(3, CLIENT, b, b"3"))
    seen = 0
    while seen < 3:
        n = alice.until("ACK")["seq"]
        check(seen < n <= 3, f"ACK {n} after {seen}")
        seen = n
    got = [bob.until("DATA") for _ in range(3)]
    check([(d["seq"], d["payload"]) for d in got] == [(1, b"1"), (2, b"2"), (3, b"3")], f"bob got {got}")


@case("ping-pong")
def _(t, o):
    s, _ = t.login(uid(t, "p"))
    s.send(ping(0x1122334455))
    check(s.until("PONG")["ts"] == 0x1122334455, "PONG timestamp")


@case("heartbeat-timeout")
def _(t, o):
    cid = uid(t, "quiet")
    s, w = t.login(cid)
    limit = w["hb"] * w["misses"] / 1000
    if limit > o.max_wait:
        return f"skipped: heartbeat {w['hb']} ms x {w['misses']} exceeds --max-wait {o.max_wait} s"
    f, took = silent_until_error(s, limit)
    check(f["type"] == "ERROR" and f["code"] == CODES["HEARTBEAT_TIMEOUT"], f"expected ERROR HEARTBEAT_TIMEOUT, got {f}")
    check(limit * 0.9 <= took <= limit + 3, f"timed out after {took:.2f} s (expected about {limit:.2f})")
    check(s.closed_within(3), "closed after the timeout")
    s2, w2 = t.login(cid, resume=w["session"])
    check(w2["status"] == RESUMED, f"session kept after a heartbeat timeout: {w2}")


@case("heartbeat-bounds")
def _(t, o):
    _, w1 = t.login(uid(t, "v1"))
    check(w1["version"] == 1 and "hbmin" not in w1, f"a version 1 HELLO gets a version 1 WELCOME: {w1}")
    _, w = t.login(uid(t, "v2"), version=2)
    check(w["version"] == 2, f"a version 2 HELLO gets a version 2 WELCOME: {w}")
    check(0 < w["hbmin"] <= w["hb"] <= w["hbmax"], f"heartbeat bounds {w['hbmin']} <= {w['hb']} <= {w['hbmax']}")
    check(w["hb"] == w1["hb"] and w["misses"] == w1["misses"], "the same start interval and misses in both versions")


def silent_until_error(s, limit):
    """Reads without answering until an ERROR or limit + 3 s: the server may sample RTT with PINGs (see
    4 PING/PONG), and answering them would be traffic."""
    start = time.monotonic()
    f = s.read_frame(limit + 3)
    while f["type"] == "PING":
        f = s.read_frame(max(0.01, start + limit + 3 - time.monotonic()))
    return f, time.monotonic() - start


@case("heartbeat-announced")
def _(t, o):
    s, w = t.login(uid(t, "slow"), version=2)
    longer = min(w["hbmax"], w["hb"] * 2)
    if longer <= w["hb"]:
        return f"skipped: the gateway allows no interval above {w['hb']} ms"
    limit = longer * w["misses"] / 1000
    if limit > o.max_wait:
        return f"skipped: {longer} ms x {w['misses']} exceeds --max-wait {o.max_wait} s"
    s.send(heartbeat(longer))
    quiet = (w["hb"] * w["misses"] / 1000 + limit) / 2  # past the fixed window, inside the announced one
    start = time.monotonic()
    while time.monotonic() - start < quiet:
        try:
            f = s.read_frame(max(0.01, quiet - (time.monotonic() - start)))
        except Fail as e:
            if "timed out" not in str(e):
                raise
            break  # silence until the end of the quiet period, as it should be
        check(f["type"] == "PING", f"silence expected, got {f}")
    s.send(ping(7))
    check(s.until("PONG")["ts"] == 7, f"alive after {quiet:.1f} s of silence under an announced {longer} ms interval")
    f, took = silent_until_error(s, limit)
    check(f["type"] == "ERROR" and f["code"] == CODES["HEARTBEAT_TIMEOUT"], f"expected ERROR HEARTBEAT_TIMEOUT, got {f}")
    check(limit * 0.9 <= took <= limit + 3, f"timed out after {took:.2f} s (expected about {limit:.2f}: announced x misses)")


@case("heartbeat-clamped")
def _(t, o):
    s, w = t.login(uid(t, "greedy"), version=2)
    limit = w["hbmax"] * w["misses"] / 1000
    if limit > o.max_wait:
        return f"skipped: heartbeatMaxMs {w['hbmax']} x {w['misses']} exceeds --max-wait {o.max_wait} s"
    s.send(heartbeat(2**31 - 1))
    f, took = silent_until_error(s, limit)
    check(f["type"] == "ERROR" and f["code"] == CODES["HEARTBEAT_TIMEOUT"], f"expected ERROR HEARTBEAT_TIMEOUT, got {f}")
    check(took <= limit + 3, f"timed out after {took:.2f} s (expected at most heartbeatMaxMs x misses = {limit:.2f})")


@case("resume-server-replays")
def _(t, o):
    a, b = uid(t, "alice"), uid(t, "bob")
    bob, wb = t.login(b)
    alice, _ = t.login(a)
    alice.send(data(1, CLIENT, b, b"m1") + data(2, CLIENT, b, b"m2") + data(3, CLIENT, b, b"m3"))
    while alice.until("ACK")["seq"] < 3:
        pass
    got = [bob.until("DATA") for _ in range(3)]
    check([d["seq"] for d in got] == [1, 2, 3], "first delivery")
    bob.close()
    alice.send(data(4, CLIENT, b, b"m4"))
    while alice.until("ACK")["seq"] < 4:
        pass
    bob, w = t.login(b, resume=wb["session"], last=1)
    check(w["status"] == RESUMED and w["session"] == wb["session"], f"welcome {w}")
    again = [bob.until("DATA") for _ in range(3)]
    check([(d["seq"], d["payload"]) for d in again] == [(2, b"m2"), (3, b"m3"), (4, b"m4")], f"replay {again}")


@case("resume-client-replays")
def _(t, o):
    a, b = uid(t, "alice"), uid(t, "bob")
    bob, _ = t.login(b)
    alice, wa = t.login(a)
    alice.send(data(1, CLIENT, b, b"once"))
    check(alice.until("ACK")["seq"] == 1, "ACK 1")
    alice.close()
    alice, w = t.login(a, resume=wa["session"])
    check(w["status"] == RESUMED and w["last"] == 1, f"welcome {w}")
    alice.send(data(1, CLIENT, b, b"once") + data(2, CLIENT, b, b"twice"))
    check(alice.until("ACK")["seq"] == 2, "ACK 2")
    got = [bob.until("DATA") for _ in range(2)]
    check([(d["seq"], d["payload"]) for d in got] == [(1, b"once"), (2, b"twice")], f"bob got {got}")
    bob.send(ack(2) + ping(7))
    check(bob.until("PONG", skip=("ACK",))["ts"] == 7, "no third DATA before the PONG")


@case("resume-across-transports")
def _(t, o):
    if t.plain_tcp is None:
        return "skipped: no plain TCP port of the same gateway given"
    cid = uid(t, "x")
    tcp = Target("tcp", t.plain_tcp)
    s, w = tcp.login(cid)
    s.close()
    s2, w2 = t.login(cid, resume=w["session"])
    check(w2["status"] == RESUMED and w2["session"] == w["session"], f"TCP -> WebSocket: {w2}")
    s2.close()
    s3, w3 = tcp.login(cid, resume=w["session"])
    check(w3["status"] == RESUMED, f"WebSocket -> TCP: {w3}")
    tcp.close_all()


@case("session-lost")
def _(t, o):
    a, b = uid(t, "alice"), uid(t, "bob")
    bob, wb = t.login(b)
    if wb["retention"] / 1000 > o.max_wait:
        return f"skipped: retention {wb['retention']} ms exceeds --max-wait {o.max_wait} s"
    bob.close()
    alice, _ = t.login(a)
    alice.send(data(1, CLIENT, b, b"while away"))
    alice.until("ACK")
    time.sleep(wb["retention"] / 1000 + 1.0)  # the case is "away longer than retention": nothing to wait on but time
    bob, w = t.login(b, resume=wb["session"], last=0)
    check(w["status"] == LOST and w["session"] != wb["session"] and w["last"] == 0, f"welcome {w}")
    # An expired session's count is no longer known: 0 (PROTOCOL.md 4 WELCOME). The new session starts at seq 1
    # (from a new sender: alice's connection was silent for the whole wait, longer than the heartbeat allows).
    carol, _ = t.login(uid(t, "carol"))
    carol.send(data(1, CLIENT, b, b"fresh"))
    d = bob.until("DATA")
    check((d["seq"], d["payload"]) == (1, b"fresh"), f"first message of the new session: {d}")


@case("session-lost-overflow")
def _(t, o):
    if not o.replay_buffer_messages:
        return "skipped: the gateway's --replay-buffer-messages is not known (pass --replay-buffer-messages N)"
    a, b, topic = uid(t, "alice"), uid(t, "bob"), uid(t, "topic")
    bob, wb = t.login(b)
    bob.send(subscribe(1, topic))
    check(bob.until("ACK")["seq"] == 1, "subscription ACK")
    bob.close()
    alice, _ = t.login(a)
    n = o.replay_buffer_messages + 3
    # A topic: its publisher is not held back for a lagging subscriber (a client target would pause the sender instead).
    alice.send(b"".join(data(i + 1, TOPIC, topic, b"m%d" % i) for i in range(n)))
    while alice.until("ACK")["seq"] < n:
        pass
    bob, w = t.login(b, resume=wb["session"], last=0)
    check(w["status"] == LOST, f"a session whose buffer overflowed cannot resume: {w}")
    check(w["lost"] == n, f"lostMessages {w['lost']} (expected {n}: every message for it since it left)")


@case("resume-unknown-session")
def _(t, o):
    s, w = t.login(uid(t, "owner"))
    other, w2 = t.login(uid(t, "thief"), resume=w["session"])
    check(w2["status"] == LOST and w2["session"] != w["session"], f"another client id resumed: {w2}")


@case("close-ends-session")
def _(t, o):
    cid = uid(t, "c")
    s, w = t.login(cid)
    s.send(close_frame())
    check(s.closed_within(5), "closed after CLOSE")
    s2, w2 = t.login(cid, resume=w["session"])
    check(w2["status"] == LOST, f"after CLOSE the session must be gone: {w2}")


@case("replaced")
def _(t, o):
    cid = uid(t, "twice")
    first, _ = t.login(cid)
    second, _ = t.login(cid)
    g = first.until("GOAWAY")
    check(g["code"] == CODES["REPLACED"], f"GOAWAY {g}")
    check(first.closed_within(5), "the replaced connection is closed")
    second.send(ping(1))
    check(second.until("PONG")["ts"] == 1, "the second login works")


@case("goaway-drain")
def _(t, o):
    if not t.admin:
        return "skipped: no --admin URL"
    s, _ = t.login(uid(t, "drained"))
    req = urllib.request.Request(t.admin.rstrip("/") + "/v1/drain", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=5, context=tls_context(o) if t.admin.startswith("https") else None).read()
    g = s.until("GOAWAY", 10)
    check(g["code"] == CODES["SERVER_SHUTDOWN"], f"GOAWAY {g}")
    s.send(ping(3))
    check(s.until("PONG")["ts"] == 3, "the connection stays open after GOAWAY SERVER_SHUTDOWN")


@case("error-frame-before-hello")
def _(t, o):
    s = t.raw()
    s.send(ping(1))
    expect_error(s, "UNEXPECTED_FRAME")


@case("error-second-hello")
def _(t, o):
    cid = uid(t, "h")
    s, _ = t.login(cid)
    s.send(hello(cid))
    expect_error(s, "UNEXPECTED_FRAME")


@case("error-unsupported-version")
def _(t, o):
    s = t.raw()
    s.send(hello(uid(t, "v"), version=4))
    f = expect_error(s, "UNSUPPORTED_VERSION")
    check("1" in f["message"] and "3" in f["message"], f"message names the versions spoken: {f['message']!r}")


@case("error-unknown-frame-type")
def _(t, o):
    s, _ = t.login(uid(t, "u"))
    s.send(frame(0x7E, b""))
    expect_error(s, "UNKNOWN_FRAME_TYPE")


@case("error-zero-length")
def _(t, o):
    s = t.raw()
    s.send(struct.pack(">I", 0))
    expect_error(s, "PROTOCOL_ERROR")


@case("error-oversized-before-welcome")
def _(t, o):
    s = t.raw()
    s.send(struct.pack(">IB", 8193, HELLO))
    expect_error(s, "FRAME_TOO_LARGE")


@case("error-oversized-after-welcome")
def _(t, o):
    s, w = t.login(uid(t, "big"))
    s.send(struct.pack(">IB", w["maxframe"] + 1, DATA))
    expect_error(s, "FRAME_TOO_LARGE")


@case("error-trailing-bytes")
def _(t, o):
    s, _ = t.login(uid(t, "t"))
    s.send(frame(ACK, struct.pack(">Q", 0) + b"\x00"))
    expect_error(s, "PROTOCOL_ERROR")


@case("error-bad-utf8")
def _(t, o):
    s = t.raw()
    s.send(frame(HELLO, struct.pack(">H", 1) + s16(b"\xc0\xaf") + s16("") + s16("") + struct.pack(">QQ", 0, 1)))
    expect_error(s, "PROTOCOL_ERROR")


@case("error-bad-client-id")
def _(t, o):
    for bad in ("", "bad\x01id"):
        s = t.raw()
        s.send(hello(bad))
        expect_error(s, "PROTOCOL_ERROR")


@case("error-from-not-empty")
def _(t, o):
    s, _ = t.login(uid(t, "f"))
    s.send(data(1, CLIENT, "someone", b"x", frm="forged"))
    expect_error(s, "PROTOCOL_ERROR")


@case("error-sequence-gap")
def _(t, o):
    s, _ = t.login(uid(t, "g"))
    s.send(data(2, CLIENT, "someone", b"x"))
    expect_error(s, "SEQUENCE_GAP")


@case("error-ack-never-sent")
def _(t, o):
    s, _ = t.login(uid(t, "k"))
    s.send(ack(5))
    expect_error(s, "SEQUENCE_GAP")


@case("error-welcome-from-client")
def _(t, o):
    s, _ = t.login(uid(t, "w"))
    s.send(frame(WELCOME, struct.pack(">H", 1) + s16("x") + struct.pack(">BQQIBIIII", 0, 0, 0, 1000, 3, 8192, 1, 1, 1)))
    expect_error(s, "UNEXPECTED_FRAME")


@case("error-handshake-timeout")
def _(t, o):
    s = t.raw()
    f = s.read_frame(o.max_wait + 3)
    check(f["type"] == "ERROR" and f["code"] == CODES["HANDSHAKE_TIMEOUT"], f"expected ERROR HANDSHAKE_TIMEOUT, got {f}")
    check(s.closed_within(3), "closed after the timeout")


@case("limit-subscriptions")
def _(t, o):
    if not o.max_subscriptions:
        return "skipped: the gateway's --max-subscriptions is not known (pass --max-subscriptions N)"
    a, b = uid(t, "alice"), uid(t, "many")
    alice, _ = t.login(a)
    s, _ = t.login(b)
    n = o.max_subscriptions
    s.send(b"".join(subscribe(i + 1, f"t{i}") for i in range(n)))
    while s.until("ACK")["seq"] < n:
        pass
    s.send(subscribe(n + 1, "one-too-many"))
    f = s.read_frame(5)
    while f["type"] in ("PING", "ACK") and not (f["type"] == "ACK" and f["seq"] > n):
        f = s.read_frame(5)
    check(f["type"] in ("ERROR", "REJECT") and f["code"] == CODES["LIMIT_EXCEEDED"], f"expected LIMIT_EXCEEDED, got {f}")
    alice.send(data(1, CLIENT, a, b"self"))
    check(alice.until("DATA")["payload"] == b"self", "another client is unaffected")


@case("ws-text-message")
def _(t, o):
    s, _ = t.login(uid(t, "txt"))
    s.send(b"hello", opcode=1)
    check(s.closed_within(5), "closed after a text message")
    check(s.ws_close_code == 1003, f"WebSocket close code {s.ws_close_code} (expected 1003)")


@case("ws-ping")
def _(t, o):
    s, _ = t.login(uid(t, "wsping"))
    s.last_pong = None
    s.send(b"\x01\x02\x03\x04", opcode=9)
    s.send(ping(9))  # a longlink PING after it: its PONG comes after the WebSocket pong
    s.until("PONG")
    check(s.last_pong == b"\x01\x02\x03\x04", f"WebSocket pong {s.last_pong!r}")


@case("ws-bad-upgrade")
def _(t, o):
    u = urlparse(t.url)
    for path, upgrade, protocols, want in ((u.path + "-nope", True, "longlink.v1", 404), (u.path, False, None, 426),
                                           (u.path, True, "chat.v2", 400)):
        sock = socket.create_connection((u.hostname, u.port), timeout=5)
        if t.tls:
            sock = t.tls.wrap_socket(sock, server_hostname=u.hostname)
        try:
            status, _ = ws_upgrade(sock, u, protocols, upgrade=upgrade, path=path)
        finally:
            sock.close()
        check(status == want, f"GET {path} upgrade={upgrade} protocols={protocols}: HTTP {status} (expected {want})")


@case("ws-split-frames")
def _(t, o):
    s = t.raw()
    h = hello(uid(t, "split"))
    s.send(h[:3])
    s.send(h[3:10])
    s.send(h[10:])
    s.until("WELCOME")
    s.send(data(1, CLIENT, "nobody-here", b"1") + data(2, CLIENT, "nobody-here", b"2"))
    while s.until("ACK")["seq"] < 2:
        pass


@case("ws-fragmented-flood")
def _(t, o):
    bystander, _ = t.login(uid(t, "bystander"))
    s = t.raw()
    stream = hello(uid(t, "frag")) + data(1, CLIENT, "nobody-here", os.urandom(20000))
    # one WebSocket message in 1-byte fragments: a binary frame without FIN, then continuations, the last with FIN
    flood = ws_frame(2, stream[:1], fin=False) + b"".join(ws_frame(0, stream[i:i + 1], fin=False) for i in range(1, len(stream) - 1))
    s.sock.sendall(flood + ws_frame(0, stream[-1:], fin=True))
    s.until("WELCOME", 20)
    check(s.until("ACK", 20)["seq"] == 1, "ACK 1 after the fragmented DATA")
    garbage = t.raw()
    try:
        garbage.sock.sendall(b"".join(ws_frame(2 if i == 0 else 0, b"\xff", fin=False) for i in range(5000)))
        closed = garbage.closed_within(10)
    except (OSError, ssl.SSLError):
        closed = True  # the server closed while the flood was still being written: that is the point
    check(closed, "a fragmented flood of garbage is closed")
    bystander.send(ping(11))
    check(bystander.until("PONG")["ts"] == 11, "another connection is unaffected")


@case("tls-plaintext-refused")
def _(t, o):
    host, port = t.hostport
    s = TcpStream(host, port)
    t.opened.append(s)
    s.send(hello(uid(t, "plain")))
    f = expect_error(s, "PROTOCOL_ERROR")
    check("TLS" in f["message"], f"the message names TLS: {f['message']!r}")


# ---- running ----
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(o, tls):
    port, ws, admin = free_port(), free_port(), free_port()
    cmd = [o.java, "-jar", o.jar, "server", "--port", str(port), "--ws-port", str(ws), "--admin-port", str(admin),
           "--heartbeat-interval", "1s", "--heartbeat-misses", "2", "--heartbeat-min", "500ms", "--heartbeat-max", "2s",
           "--session-retention", "1s",
           "--handshake-timeout", "1s", "--max-subscriptions", str(o.max_subscriptions or 5),
           "--replay-buffer-messages", str(o.replay_buffer_messages or 16), "--drain-timeout", "2s",
           "--drain-spread", "100ms"]
    if tls:
        cmd += ["--tls-cert", o.tls_cert, "--tls-key", o.tls_key]
    log = open(os.path.join(o.workdir, f"gateway-{'tls' if tls else 'plain'}.log"), "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    admin_url = f"https://localhost:{admin}" if tls else f"http://127.0.0.1:{admin}"  # with TLS the admin API is HTTPS too
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(admin_url + "/readyz", timeout=1, context=tls_context(o) if tls else None).read()
            break
        except Exception:
            if p.poll() is not None:
                raise SystemExit(f"the gateway exited with {p.returncode}; see {log.name}")
            time.sleep(0.2)
    else:
        raise SystemExit(f"the gateway did not become ready; see {log.name}")
    return p, port, ws, admin_url


def tls_context(o):
    return ssl.create_default_context(cafile=o.ca) if o.ca else None


def targets(o):
    tls_ctx = tls_context(o)
    out = []
    def tcp_opener(h, p, ctx=None): return lambda: TcpStream(h, p, ctx)
    def ws_opener(url, ctx=None): return lambda: WsStream(url, ctx)
    if o.tcp:
        h, p = o.tcp.rsplit(":", 1)
        out.append(Target("tcp", tcp_opener(h, int(p)), o.admin))
    if o.ws:
        t = Target("ws", ws_opener(o.ws), o.admin, plain_tcp=out[0].opener if o.tcp else None)
        t.url, t.tls = o.ws, None
        out.append(t)
    if o.tls:
        h, p = o.tls.rsplit(":", 1)
        t = Target("tls", tcp_opener(h, int(p), tls_ctx), o.tls_admin)
        t.hostport = (h, int(p))
        out.append(t)
    if o.wss:
        t = Target("wss", ws_opener(o.wss, tls_ctx), o.tls_admin, plain_tcp=out[-1].opener if o.tls else None)
        t.url, t.tls = o.wss, tls_ctx
        out.append(t)
    return out


def applies(c, t):
    want = c.get("transports", "any")
    kind = {"tcp": "tcp", "ws": "ws", "tls": "tls", "wss": "ws"}[t.name]
    if want == "tls":
        return t.name == "tls"
    return want == "any" or want == kind


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tcp", help="HOST:PORT of a plaintext client port")
    ap.add_argument("--ws", help="ws:// URL of the same gateway's WebSocket listener")
    ap.add_argument("--admin", help="admin API URL of that gateway (enables goaway-drain, which stops it)")
    ap.add_argument("--tls", help="HOST:PORT of a TLS client port")
    ap.add_argument("--wss", help="wss:// URL of the TLS gateway's WebSocket listener")
    ap.add_argument("--tls-admin", help="admin API URL of the TLS gateway")
    ap.add_argument("--ca", help="PEM CA that signed the TLS gateway's certificate")
    ap.add_argument("--jar", help="start gateways from this jar instead (plain, and TLS with --tls-cert/--tls-key/--ca)")
    ap.add_argument("--java", default=os.environ.get("JAVA", "java"), help="java executable for --jar (default: $JAVA or java)")
    ap.add_argument("--tls-cert"); ap.add_argument("--tls-key")
    ap.add_argument("--max-subscriptions", type=int, help="the gateway's --max-subscriptions (enables limit-subscriptions)")
    ap.add_argument("--replay-buffer-messages", type=int, help="the gateway's --replay-buffer-messages (enables session-lost-overflow)")
    ap.add_argument("--max-wait", type=float, default=10, help="skip cases that wait out a server timer longer than this (s)")
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--cases", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.json"))
    o = ap.parse_args()
    o.workdir = os.environ.get("TMPDIR", "/tmp")
    spec = json.load(open(o.cases))["cases"]
    procs = []
    if o.jar:
        o.max_subscriptions = o.max_subscriptions or 5
        o.replay_buffer_messages = o.replay_buffer_messages or 16
        p, port, ws, admin = start_gateway(o, tls=False)
        procs.append(p)
        o.tcp, o.ws, o.admin = f"127.0.0.1:{port}", f"ws://127.0.0.1:{ws}/longlink", admin
        if o.tls_cert:
            p, port, ws, admin = start_gateway(o, tls=True)
            procs.append(p)
            o.tls, o.wss, o.tls_admin = f"localhost:{port}", f"wss://localhost:{ws}/longlink", admin
    ts = targets(o)
    if not ts:
        ap.error("no gateway: give --tcp/--ws/--tls/--wss or --jar")
    unknown = [c["id"] for c in spec if c["id"] not in CASES]
    only = set(o.only.split(",")) if o.only else None
    passed = failed = skipped = 0
    try:
        for cid in unknown:
            print(f"FAIL {cid}: described in cases.json but not implemented by this runner")
            failed += 1
        # Cases marked "last" stop a gateway: run them after everything else.
        ordered = [c for c in spec if not c.get("last")] + [c for c in spec if c.get("last")]
        for c in ordered:
            if c["id"] in unknown or (only and c["id"] not in only):
                continue
            for t in ts:
                if not applies(c, t):
                    continue
                if c.get("last") and any(x is not t and x.admin == t.admin and applies(c, x) for x in ts[ts.index(t) + 1:]):
                    continue  # the gateway is drained once, through its last transport
                label = f"{c['id']} [{t.name}]"
                started = time.monotonic()
                try:
                    note = CASES[c["id"]](t, o)
                    if isinstance(note, str) and note.startswith("skipped"):
                        print(f"SKIP {label}: {note[len('skipped: '):]}")
                        skipped += 1
                    else:
                        print(f"ok   {label} ({time.monotonic() - started:.2f} s)")
                        passed += 1
                except (Fail, EOFError, OSError, ssl.SSLError, AssertionError) as e:
                    print(f"FAIL {label}: {type(e).__name__}: {e}")
                    failed += 1
                finally:
                    t.close_all()
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    if skipped:
        print(f"{skipped} skipped")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
