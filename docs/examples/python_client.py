# A longlink v1 client written only from docs/PROTOCOL.md, as an interoperability check.
# Usage: ./longlink server --port 7700 --admin-port -1 &  then  python3 docs/examples/python_client.py 7700
import socket, struct, sys, time

def s16(t):
    b = t.encode("utf-8"); return struct.pack(">H", len(b)) + b
def frame(typ, body): return struct.pack(">IB", 1 + len(body), typ) + body
def hello(cid, token="", resume="", last=0, stamp=0):
    return frame(0x01, struct.pack(">H", 1) + s16(cid) + s16(token) + s16(resume) + struct.pack(">QQ", last, stamp))
def data(seq, kind, target, payload):
    return frame(0x10, struct.pack(">QB", seq, kind) + s16(target) + s16("") + struct.pack(">I", len(payload)) + payload)
def ack(seq): return frame(0x11, struct.pack(">Q", seq))
def ping(ts): return frame(0x03, struct.pack(">Q", ts))

class R:
    def __init__(self, b): self.b, self.i = b, 0
    def take(self, n): v = self.b[self.i:self.i+n]; self.i += n; return v
    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack(">H", self.take(2))[0]
    def u32(self): return struct.unpack(">I", self.take(4))[0]
    def u64(self): return struct.unpack(">Q", self.take(8))[0]
    def s(self): return self.take(self.u16()).decode("utf-8")
    def bytes(self): return self.take(self.u32())

def read_frame(sock):
    def exact(n):
        b = b""
        while len(b) < n:
            c = sock.recv(n - len(b))
            if not c: raise EOFError
            b += c
        return b
    length = struct.unpack(">I", exact(4))[0]
    body = exact(length)
    r = R(body[1:]); t = body[0]
    if t == 0x02:
        return ("WELCOME", dict(version=r.u16(), session=r.s(), status=r.u8(), last=r.u64(), lost=r.u64(),
                hb=r.u32(), misses=r.u8(), maxframe=r.u32(), binit=r.u32(), bmax=r.u32(), retention=r.u32()))
    if t == 0x10: return ("DATA", dict(seq=r.u64(), kind=r.u8(), target=r.s(), frm=r.s(), payload=r.bytes()))
    if t == 0x11: return ("ACK", r.u64())
    if t == 0x14: return ("GAP", (r.u64(), r.u64()))  # only from a drop-oldest server (section 5.5)
    if t == 0x04: return ("PONG", r.u64())
    if t == 0x21: return ("ERROR", (r.u16(), r.s()))
    if t == 0x20: return ("GOAWAY", (r.u16(), r.s(), r.u32(), r.s()))
    return ("OTHER", t)

def connect(cid, resume="", last=0):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(5)
    s.sendall(hello(cid, resume=resume, last=last, stamp=int(time.time() * 1000)))
    kind, w = read_frame(s); assert kind == "WELCOME", (kind, w)
    return s, w

def until(s, want):
    while True:
        k, v = read_frame(s)
        if k == want: return v

bob, wb = connect("py-bob")
alice, wa = connect("py-alice")
print("welcome", wb)
alice.sendall(data(1, 1, "py-bob", b"hello from python") + ping(42))
seen = {}
while not ("ACK" in seen and "PONG" in seen):
    k, v = read_frame(alice); seen[k] = v
print("alice got ack", seen["ACK"], "pong", seen["PONG"])
assert seen["ACK"] == 1 and seen["PONG"] == 42
d = until(bob, "DATA"); print("bob got", d)
assert d["frm"] == "py-alice" and d["payload"] == b"hello from python" and d["seq"] == 1
bob.sendall(ack(1))
# resume: bob drops the connection, alice sends two more, bob resumes saying he has seq 1
bob.close()
time.sleep(0.3)
alice.sendall(data(2, 1, "py-bob", b"m2") + data(3, 1, "py-bob", b"m3"))
until(alice, "ACK")
time.sleep(0.2)
bob, w2 = connect("py-bob", resume=wb["session"], last=1)
print("resume welcome status", w2["status"], "server had", w2["last"])
assert w2["status"] == 1
got = [until(bob, "DATA") for _ in range(2)]
print("replayed", [(g["seq"], g["payload"]) for g in got])
assert [g["payload"] for g in got] == [b"m2", b"m3"] and [g["seq"] for g in got] == [2, 3]
bob.sendall(frame(0x07, b""))  # unknown type: expect a typed error
print("error", until(bob, "ERROR"))
print("INTEROP OK")
