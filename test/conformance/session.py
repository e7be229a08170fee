"""
A minimal echostream client session, written only from kernel/PROTOCOL.md (wire protocol 2):
WebSocket transport, the msgpack codec, the handshake, rpc (both ways), events, streams (both
ways, with credit), clock-sync and reconnect's frame counting. Where PROTOCOL.md did not say
something this code needed, PROTOCOL.md was fixed, never this file taught by the server's source.

Debian python3-websockets (10.4) and python3-msgpack (1.0.3); run with /usr/bin/python3.
"""
import asyncio
import time

import msgpack
import websockets

PROTOCOL = 2
MAX_PAYLOAD = 1 << 20  # what this client accepts (hello.limits.maxPayload)
VOLATILE_PREFIXES = ("clock.",)  # reconnect's default volatile kinds (PROTOCOL.md, reconnect)
UNCOUNTED = ("hello", "welcome", "reconnect.ack")


class ProtocolError(Exception):
    pass


class RemoteError(Exception):
    """An `{ code, message, data?, retryable? }` payload from the peer (rpc.err, error, stream.abort)."""

    def __init__(self, payload):
        payload = payload if isinstance(payload, dict) else {}
        self.code = payload.get("code")
        self.data = payload.get("data")
        self.payload = payload
        super().__init__(f"{self.code}: {payload.get('message')}")


def as_int(value, what="integer"):
    """Conventions: a whole number may arrive as a MessagePack int or as a float64."""
    if isinstance(value, bool):
        raise ProtocolError(f"{what} is a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53 - 1:
        return int(value)
    raise ProtocolError(f"{what} is {value!r}, not an integer")


def encode(kind, id=None, name=None, payload=None, meta=None):
    frame = [kind, id, name, payload, meta]
    while len(frame) > 1 and frame[-1] is None:  # trailing absent elements may be left off
        frame.pop()
    return msgpack.packb(frame, use_bin_type=True)


def decode(data):
    value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    if not isinstance(value, list) or not 1 <= len(value) <= 5 or not isinstance(value[0], str):
        raise ProtocolError(f"not a frame: {value!r:.80}")
    return value + [None] * (5 - len(value))


class LocalClock:
    """Monotonic µs on the Unix-epoch scale: anchored to the wall clock once, then monotonic."""

    def __init__(self):
        self._wall = time.time_ns() // 1000
        self._mono = time.monotonic_ns()

    def now(self):
        return self._wall + (time.monotonic_ns() - self._mono) / 1000


CLOCK = LocalClock()


def _counted(kind):
    return kind not in UNCOUNTED and not kind.startswith(VOLATILE_PREFIXES)


class Grants:
    """Receiver side of one credit window (a stream's or the connection's)."""

    def __init__(self, window):
        self.window = window
        self.max = window  # the offset granted so far
        self.received = 0
        self.consumed = 0

    def due(self, force=False):
        """The new absolute offset to grant, if one is due: half a window consumed, or everything when forced."""
        target = self.consumed + self.window
        if target > self.max and (force or target - self.max >= self.window // 2):
            self.max = target
            return target
        return None


class Credit:
    """Sender side of one credit window."""

    def __init__(self, maximum=0):
        self.max = maximum
        self.sent = 0
        self.blocked_at = None  # the offset a `blocked` frame was sent for (once per offset)
        self.changed = asyncio.Event()

    def raise_to(self, offset):
        if offset > self.max:
            self.max = offset
            self.changed.set()


class InStream:
    """A stream the server opened to us."""

    def __init__(self, sid, name, meta, window):
        self.id, self.name, self.meta = sid, name, meta
        self.grants = Grants(window)
        self.items = asyncio.Queue()  # (seq, wallTime, data, size, arrivedAt) … then None at the end
        self.ended = False
        self.error = None
        self.blocked_reports = []
        self.overrun = False


class OutStream:
    def __init__(self, sid):
        self.id = sid
        self.accepted = asyncio.get_running_loop().create_future()
        self.credit = Credit()
        self.seq = 0
        self.aborted = None
        self.waits = 0  # times a write had to wait for credit


class Session:
    def __init__(self, url, plugins, stream_window=4096, conn_window=8192):
        self.url = url
        self.plugins = plugins
        self.ws = None
        self.welcome = None
        self.peer_max_payload = None
        self.sent_counted = 0
        self.received_counted = 0
        self.last_ack = None
        self.ack_seen = asyncio.Event()
        self._next_rpc = 1
        self._next_stream = 1  # the client opens odd ids
        self._next_clock = 1
        self._calls = {}  # rpc id → future
        self._clock = {}  # clock id → (future, t1)
        self.handlers = {}  # method → async fn(params, meta) → result (raise RemoteError-like for errors)
        self._running = {}  # server request id → task
        self.cancels = []  # ids the server cancelled
        self.requests = []  # (id, method, meta) the server sent
        self.late_replies = []  # replies that arrived for calls we had ended
        self.ended_calls = set()
        self.events = []
        self.event_arrived = asyncio.Event()
        self.errors = []  # `error` frames received (payload + id)
        self.error_arrived = asyncio.Event()
        self.heartbeats = 0
        self.heartbeat_arrived = asyncio.Event()
        self.stream_window = stream_window
        self.conn_window = conn_window
        self.conn_grants = Grants(conn_window)
        self._conn_announced = False
        self.instreams = {}
        self.incoming = asyncio.Queue()  # InStream objects as the server opens them
        self.stream_handlers = {}  # names we accept
        self._highest_peer_stream = 0
        self.outstreams = {}
        self.conn_credit = Credit()  # what the server granted for our streams
        self._reader = None
        self.closed = asyncio.Event()

    # ------------------------------------------------------------------ transport

    async def open(self, extra_hello=None):
        self.ws = await websockets.connect(self.url, max_size=MAX_PAYLOAD, ping_interval=None, compression=None, open_timeout=5, close_timeout=2)
        hello = {"protocol": PROTOCOL, "codec": "msgpack", "plugins": self.plugins, "limits": {"maxPayload": MAX_PAYLOAD}}
        hello.update(extra_hello or {})
        await self.ws.send(encode("hello", payload=hello))
        while True:
            message = await asyncio.wait_for(self.ws.recv(), 5)
            if message == b"":
                continue
            kind, _, _, payload, _ = decode(message)
            if kind == "error":
                raise RemoteError(payload)
            if kind != "welcome" or not isinstance(payload, dict) or not isinstance(payload.get("sessionId"), str):
                await self.ws.close(4000, "expected welcome")
                raise ProtocolError(f"expected welcome, got {kind}")
            break
        self.welcome = payload
        self.peer_max_payload = as_int(payload["limits"]["maxPayload"], "limits.maxPayload")
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return payload

    async def close(self, code=1000, reason="done"):
        await self.ws.close(code, reason)
        if self._reader:
            await asyncio.wait([self._reader], timeout=3)
        return self.ws.close_code, self.ws.close_reason

    async def send(self, kind, id=None, name=None, payload=None, meta=None):
        data = encode(kind, id, name, payload, meta)
        if len(data) > self.peer_max_payload:
            raise RemoteError({"code": "E_PAYLOAD_TOO_LARGE", "message": f"{len(data)} bytes > {self.peer_max_payload}"})
        await self.ws.send(data)
        if _counted(kind):
            self.sent_counted += 1
        return len(data)

    async def heartbeat(self):
        await self.ws.send(b"")

    async def _read(self):
        try:
            async for message in self.ws:
                arrived = CLOCK.now()
                if message == b"":
                    self.heartbeats += 1
                    self.heartbeat_arrived.set()
                    continue
                if isinstance(message, str):
                    raise ProtocolError("text message")
                frame = decode(message)
                if _counted(frame[0]):
                    self.received_counted += 1
                await self._dispatch(frame, len(message), arrived)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            for future in list(self._calls.values()) + [f for f, _ in self._clock.values()]:
                if not future.done():
                    future.set_exception(RemoteError({"code": "E_CLOSED", "message": "connection closed"}))

    async def _dispatch(self, frame, size, arrived):
        kind, fid, name, payload, meta = frame
        handler = getattr(self, "_on_" + kind.replace(".", "_").replace("-", "_"), None)
        if handler is None:
            # Conventions: a kind we do not know gets E_PROTOCOL (reconnect.ack is recorded first).
            if kind == "reconnect.ack":
                self.last_ack = as_int(payload, "reconnect.ack")
                self.ack_seen.set()
                return
            if kind == "error":
                return
            err = {"code": "E_PROTOCOL", "message": f"unknown frame kind {kind!r}", "re": kind}
            await self.send("error", fid, None, err)
            return
        await handler(fid, name, payload, meta, size, arrived)

    async def _on_error(self, fid, name, payload, meta, size, arrived):
        self.errors.append((fid, payload))
        self.error_arrived.set()
        re = payload.get("re") if isinstance(payload, dict) else None
        if re == "rpc.req" and fid in self._calls:
            self._end_call(fid).set_exception(RemoteError(payload))

    # ------------------------------------------------------------------ rpc

    def _end_call(self, rid):
        self.ended_calls.add(rid)
        return self._calls.pop(rid)

    async def call(self, method, params=None, timeout_ms=None, cancel_after=None):
        rid = self._next_rpc
        self._next_rpc += 1
        future = asyncio.get_running_loop().create_future()
        self._calls[rid] = future
        meta = {"timeoutMs": timeout_ms} if timeout_ms else None
        await self.send("rpc.req", rid, method, params, meta)
        # The deadline is ours (PROTOCOL.md, rpc): on expiry fail locally and tell the responder.
        limit = cancel_after if cancel_after is not None else (timeout_ms / 1000 if timeout_ms else None)
        try:
            return await asyncio.wait_for(asyncio.shield(future), limit)
        except asyncio.TimeoutError:
            if rid in self._calls:
                self._end_call(rid)
                await self.send("rpc.cancel", rid)
            raise RemoteError({"code": "E_CANCELLED" if cancel_after is not None else "E_TIMEOUT", "message": f"{method} #{rid}", "data": {"id": rid}})

    async def _on_rpc_res(self, fid, name, payload, meta, size, arrived):
        if fid in self._calls:
            self._end_call(fid).set_result(payload)
        else:
            self.late_replies.append(("rpc.res", fid))

    async def _on_rpc_err(self, fid, name, payload, meta, size, arrived):
        if fid in self._calls:
            self._end_call(fid).set_exception(RemoteError(payload))
        else:
            self.late_replies.append(("rpc.err", fid))

    async def _on_rpc_req(self, fid, name, payload, meta, size, arrived):
        rid = as_int(fid, "rpc.req id")
        self.requests.append((rid, name, meta))
        self._running[rid] = asyncio.get_running_loop().create_task(self._answer(rid, name, payload, meta))

    async def _answer(self, rid, method, params, meta):
        handler = self.handlers.get(method)
        try:
            if handler is None:
                raise RemoteError({"code": "E_METHOD_NOT_FOUND", "message": f"no method {method!r} on this client"})
            result = await handler(params, meta)
        except asyncio.CancelledError:
            return  # rpc.cancel: send nothing for this id
        except RemoteError as error:
            self._running.pop(rid, None)
            await self.send("rpc.err", rid, None, error.payload)
            return
        except Exception as error:  # a bug here: E_INTERNAL, never a crash
            self._running.pop(rid, None)
            await self.send("rpc.err", rid, None, {"code": "E_INTERNAL", "message": str(error)})
            return
        self._running.pop(rid, None)
        await self.send("rpc.res", rid, None, result)

    async def _on_rpc_cancel(self, fid, name, payload, meta, size, arrived):
        rid = as_int(fid, "rpc.cancel id")
        self.cancels.append(rid)
        task = self._running.pop(rid, None)
        if task:
            task.cancel()

    # ------------------------------------------------------------------ events

    async def emit(self, name, data=None):
        await self.send("events.emit", None, name, data)

    async def _on_events_emit(self, fid, name, payload, meta, size, arrived):
        self.events.append((name, payload))
        self.event_arrived.set()

    async def wait_event(self, name, timeout=5):
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for event in self.events:
                if event[0] == name:
                    self.events.remove(event)
                    return event[1]
            self.event_arrived.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"no event {name!r}")
            await asyncio.wait_for(self.event_arrived.wait(), remaining)

    # ------------------------------------------------------------------ clock-sync

    async def clock_probe(self):
        cid = self._next_clock
        self._next_clock += 1
        future = asyncio.get_running_loop().create_future()
        t1 = CLOCK.now()
        self._clock[cid] = (future, t1)
        await self.send("clock.ping", cid, None, t1)
        t2, t3, t4 = await asyncio.wait_for(future, 5)
        return t1, t2, t3, t4

    async def _on_clock_pong(self, fid, name, payload, meta, size, arrived):
        entry = self._clock.pop(as_int(fid, "clock.pong id"), None)
        if entry is None:
            return
        future, t1 = entry
        echoed, t2, t3 = payload
        if echoed != t1:
            future.set_exception(ProtocolError(f"t1 echoed as {echoed!r}, sent {t1!r}"))
        else:
            future.set_result((float(t2), float(t3), arrived))

    # ------------------------------------------------------------------ streams: sending

    async def open_stream(self, name, meta=None):
        sid = self._next_stream
        self._next_stream += 2
        out = OutStream(sid)
        self.outstreams[sid] = out
        await self.send("stream.open", sid, name, None if meta is None else {"meta": meta})
        window = await asyncio.wait_for(out.accepted, 5)
        out.credit.raise_to(as_int(window, "stream.accept"))
        return out

    async def write(self, out, data, wall_time=None):
        wall = round(CLOCK.now() if wall_time is None else wall_time)
        message = encode("stream.data", out.id, None, [out.seq, wall, data])
        n = len(message)
        waited = False
        while True:
            if out.aborted:
                raise out.aborted
            stream_ok = out.credit.sent + n <= out.credit.max
            conn_ok = self.conn_credit.sent + n <= self.conn_credit.max
            if stream_ok and conn_ok:
                break
            waited = True
            # Report the offset we wait at, once per offset (stream.blocked / stream.connblocked).
            if not stream_ok and out.credit.blocked_at != out.credit.max:
                out.credit.blocked_at = out.credit.max
                await self.send("stream.blocked", out.id, None, out.credit.max)
            if not conn_ok and self.conn_credit.blocked_at != self.conn_credit.max:
                self.conn_credit.blocked_at = self.conn_credit.max
                await self.send("stream.connblocked", None, None, self.conn_credit.max)
            waiter = out.credit if not stream_ok else self.conn_credit
            waiter.changed.clear()
            await asyncio.wait_for(waiter.changed.wait(), 5)
        if waited:
            out.waits += 1
        if n > self.peer_max_payload:
            raise RemoteError({"code": "E_PAYLOAD_TOO_LARGE", "message": f"{n} bytes > {self.peer_max_payload}"})
        await self.ws.send(message)
        self.sent_counted += 1
        out.credit.sent += n
        self.conn_credit.sent += n
        out.seq += 1
        return n

    async def end_stream(self, out):
        await self.send("stream.end", out.id)

    async def _on_stream_accept(self, fid, name, payload, meta, size, arrived):
        out = self.outstreams.get(as_int(fid))
        if out and not out.accepted.done():
            out.accepted.set_result(payload)

    async def _on_stream_credit(self, fid, name, payload, meta, size, arrived):
        out = self.outstreams.get(as_int(fid))
        if out:
            out.credit.raise_to(as_int(payload, "stream.credit"))

    async def _on_stream_conncredit(self, fid, name, payload, meta, size, arrived):
        self.conn_credit.raise_to(as_int(payload, "stream.conncredit"))

    # ------------------------------------------------------------------ streams: receiving

    async def _on_stream_open(self, fid, name, payload, meta, size, arrived):
        sid = as_int(fid, "stream id")
        if sid % 2 != 0 or sid <= self._highest_peer_stream:
            await self.send("error", fid, None, {"code": "E_PROTOCOL", "message": f"bad server stream id {sid}", "re": "stream.open"})
            return
        self._highest_peer_stream = sid
        if name not in self.stream_handlers:
            await self.send("stream.abort", sid, None, {"code": "E_NO_HANDLER", "message": f"no handler for stream {name!r}"})
            return
        stream = InStream(sid, name, payload.get("meta") if isinstance(payload, dict) else None, self.stream_window)
        self.instreams[sid] = stream
        if not self._conn_announced:  # the connection window comes before the first accept
            self._conn_announced = True
            await self.send("stream.conncredit", None, None, self.conn_grants.max)
        await self.send("stream.accept", sid, None, stream.grants.max)
        await self.incoming.put(stream)

    async def _on_stream_data(self, fid, name, payload, meta, size, arrived):
        sid = as_int(fid, "stream id")
        stream = self.instreams.get(sid)
        self.conn_grants.received += size
        if stream is None:  # ended by us: counted against the connection, dropped
            await self.consumed(None, size)
            return
        stream.grants.received += size
        if stream.grants.received > stream.grants.max or self.conn_grants.received > self.conn_grants.max:
            stream.overrun = True
            del self.instreams[sid]
            await self.send("stream.abort", sid, None, {"code": "E_FLOW_CONTROL", "message": "credit exceeded"})
            await stream.items.put(None)
            return
        seq, wall, data = payload
        await stream.items.put((as_int(seq, "seq"), wall, data, size, arrived))

    async def consumed(self, stream, size, force=False):
        """The application has consumed `size` bytes of `stream`: grant more when due."""
        if stream is not None:
            stream.grants.consumed += size
            offset = stream.grants.due(force)
            if offset is not None and stream.id in self.instreams:
                await self.send("stream.credit", stream.id, None, offset)
        self.conn_grants.consumed += size
        offset = self.conn_grants.due(force)
        if offset is not None:
            await self.send("stream.conncredit", None, None, offset)

    async def _on_stream_blocked(self, fid, name, payload, meta, size, arrived):
        stream = self.instreams.get(as_int(fid))
        if stream:
            stream.blocked_reports.append(as_int(payload, "stream.blocked"))
            if stream.grants.consumed == stream.grants.received:
                await self.consumed(stream, 0, force=True)

    async def _on_stream_connblocked(self, fid, name, payload, meta, size, arrived):
        if self.conn_grants.consumed == self.conn_grants.received:
            await self.consumed(None, 0, force=True)

    async def _on_stream_end(self, fid, name, payload, meta, size, arrived):
        stream = self.instreams.pop(as_int(fid), None)
        if stream:
            stream.ended = True
            await stream.items.put(None)

    async def _on_stream_abort(self, fid, name, payload, meta, size, arrived):
        sid = as_int(fid)
        stream = self.instreams.pop(sid, None)
        if stream:
            stream.error = RemoteError(payload)
            await stream.items.put(None)
        out = self.outstreams.get(sid)
        if out:
            out.aborted = RemoteError(payload)
            if not out.accepted.done():
                out.accepted.set_exception(out.aborted)
            out.credit.changed.set()
