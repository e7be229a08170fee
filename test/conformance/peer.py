"""
Cross-language conformance: a Python client written only from kernel/PROTOCOL.md (version 2)
runs against a real echostream server (test/integration/python-conformance.test.ts starts it with
the application below) and prints one line per check, `ok <check>: …` or `FAIL <check>: …`, then
exits non-zero if any failed.

    /usr/bin/python3 test/conformance/peer.py ws://127.0.0.1:PORT/ --offset-ms 5000

The server application it expects (the test's, not the protocol's): RPC methods `math.add`,
`math.divide` (E_DIVIDE_BY_ZERO), `echo`, `slow` (emits `slow.aborted` when cancelled),
`callMe` (calls the client's `py.add`, `py.fail`, `py.hang` with timeoutMs 300), `startDownload`
(opens stream `download` to the caller), `uploadResult`; events `py.event` (echoed as
`server.echo`), `py.broadcast` (broadcast as `all.tick`), and `left` broadcast on disconnect;
stream handler `upload`; its clock shifted by --offset-ms.
"""
import argparse
import asyncio
import hashlib
import sys

import msgpack
import websockets

from session import CLOCK, MAX_PAYLOAD, PROTOCOL, RemoteError, Session, as_int, decode, encode

PLUGINS = {"rpc": 2, "events": 1, "streams": 2, "clock-sync": 1}
# Both clocks are anchored to the wall clock once, when each process starts: NTP slewing between
# those two moments (≤ 500 ppm) may put them a little apart.
ANCHOR_US = 5000
results = []


def report(check, ok, detail):
    results.append(ok)
    print(f"{'ok' if ok else 'FAIL'} {check}: {detail}", flush=True)


async def run_check(check, coroutine):
    try:
        ok, detail = await asyncio.wait_for(coroutine, 10)
    except Exception as error:  # a check that raised failed; the others still run
        ok, detail = False, f"{type(error).__name__}: {error}"
    report(check, ok, detail)


# ---------------------------------------------------------------------- handshake refusals


async def refusal(url, messages, wait=5.0):
    """Sends raw messages on a fresh connection; returns (error payload, close code, close reason)."""
    ws = await websockets.connect(url, max_size=MAX_PAYLOAD, ping_interval=None, compression=None, open_timeout=5)
    error = None
    try:
        for message in messages:
            await ws.send(message)
        async def read():
            nonlocal error
            async for message in ws:
                if message == b"":
                    continue
                kind, _, _, payload, _ = decode(message)
                if kind == "error":
                    error = payload
        await asyncio.wait_for(read(), wait)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.close()
    return error, ws.close_code, ws.close_reason


def expect_refusal(error, code, close, want_code, want_close):
    ok = error is not None and error.get("code") == want_code and code == want_close and reason_ok(close, want_code)
    return ok, f"error {error and error.get('code')}, close {code} {close!r:.70}"


def reason_ok(reason, code):
    return reason.startswith(code)  # the close reason is "<code>: <message>"


def hello(**fields):
    payload = {"protocol": PROTOCOL, "codec": "msgpack", "plugins": PLUGINS, "limits": {"maxPayload": MAX_PAYLOAD}}
    payload.update(fields)
    return encode("hello", payload=payload)


async def check_v1_refused(url):
    v1 = encode("hello", payload={"protocol": 1, "codec": "msgpack", "plugins": {"rpc": 1}})
    error, code, reason = await refusal(url, [v1])
    ok, detail = expect_refusal(error, code, reason, "E_INCOMPATIBLE", 4001)
    message = (error or {}).get("message", "")
    ok = ok and "1" in message and "2" in message and (error.get("data") or {}).get("theirs") == 1
    return ok, f"{detail}; message names both versions: {message[:90]!r}"


async def check_garbage_refused(url):
    return expect_refusal(*(await refusal(url, [b"\xc1\xc1 not msgpack"])), "E_CODEC", 4000)


async def check_not_a_frame_refused(url):
    return expect_refusal(*(await refusal(url, [msgpack.packb({"hello": 2})])), "E_PROTOCOL", 4000)


async def check_first_not_hello(url):
    return expect_refusal(*(await refusal(url, [encode("rpc.req", 1, "math.add", {"a": 1, "b": 2})])), "E_PROTOCOL", 4000)


async def check_malformed_hello(url):
    bad = encode("hello", payload={"protocol": PROTOCOL, "codec": "msgpack", "plugins": PLUGINS})  # no limits
    return expect_refusal(*(await refusal(url, [bad])), "E_PROTOCOL", 4000)


async def check_plugin_mismatch(url):
    error, code, reason = await refusal(url, [hello(plugins={"rpc": 99, "nope": 1})])
    ok, detail = expect_refusal(error, code, reason, "E_INCOMPATIBLE", 4001)
    message = (error or {}).get("message", "")
    return ok and "rpc" in message and "nope" in message, detail


async def check_handshake_timeout(url):
    # The test's server waits 1 s for a hello (handshakeTimeoutMs); a heartbeat is not a hello.
    loop = asyncio.get_running_loop()
    started = loop.time()
    error, code, reason = await refusal(url, [b""], wait=5)
    ok, detail = expect_refusal(error, code, reason, "E_PROTOCOL", 4002)
    return ok, f"{detail} after {loop.time() - started:.1f} s"


async def check_oversize(url):
    session = Session(url, PLUGINS)
    await session.open()
    too_big = session.peer_max_payload + 1
    await session.ws.send(msgpack.packb(b"x" * (too_big - 5)))  # a bin of maxPayload + 1 bytes in all
    await asyncio.wait_for(session.closed.wait(), 5)
    return session.ws.close_code == 1009, f"{too_big} bytes (maxPayload + 1) → close {session.ws.close_code}"


# ---------------------------------------------------------------------- the main session


async def check_handshake(session):
    welcome = await session.open()
    limits = welcome.get("limits", {})
    resume = welcome.get("resume")
    ok = (
        welcome.get("protocol") == PROTOCOL
        and all(welcome.get("plugins", {}).get(k) == v for k, v in PLUGINS.items())
        and as_int(limits.get("maxPayload")) >= 1
        and as_int(limits.get("pingIntervalMs")) >= 0
        and as_int(limits.get("pingTimeoutMs")) >= 0
    )
    return ok, f"sessionId {welcome['sessionId'][:8]}…, limits {limits}, server plugins {welcome.get('plugins')}, resume {sorted(resume) if isinstance(resume, dict) else resume}"


async def check_heartbeat(session):
    session.heartbeat_arrived.clear()
    await session.heartbeat()
    await asyncio.wait_for(session.heartbeat_arrived.wait(), 2)
    return True, "an empty message was answered with an empty message"


async def check_unknown_kind(session):
    session.error_arrived.clear()
    await session.send("py.nope", 9, None, {"x": 1})
    await asyncio.wait_for(session.error_arrived.wait(), 2)
    fid, payload = session.errors[-1]
    ok = fid == 9 and payload.get("code") == "E_PROTOCOL" and payload.get("re") == "py.nope"
    # …and the session is still open:
    ok = ok and await session.call("math.add", {"a": 1, "b": 1}) == 2
    return ok, f"error id {fid}, {payload.get('code')}, re {payload.get('re')!r}; session still open"


async def check_rpc_call(session):
    result = await session.call("math.add", {"a": 1, "b": 2}, timeout_ms=5000)
    return result == 3, f"math.add {{a: 1, b: 2}} → {result!r}"


async def check_rpc_errors(session):
    codes = []
    for method, params in (("no.such", None), ("math.divide", {"a": 1, "b": 0})):
        try:
            await session.call(method, params)
            codes.append(None)
        except RemoteError as error:
            codes.append((error.code, error.data))
    ok = codes[0][0] == "E_METHOD_NOT_FOUND" and codes[1][0] == "E_DIVIDE_BY_ZERO" and codes[1][1] == {"a": 1}
    return ok, f"unknown method → {codes[0][0]}; handler error → {codes[1][0]} with data {codes[1][1]}"


async def check_rpc_numbers(session):
    sent = {"small": 7, "negative": -2**31, "big": 2**40, "huge": 2**53 - 1, "fraction": 0.5, "bin": b"\x00\xff"}
    back = await session.call("echo", sent)
    ok = all(as_int(back[k]) == sent[k] for k in ("small", "negative", "big", "huge")) and back["fraction"] == 0.5 and back["bin"] == sent["bin"]
    return ok, f"echo round trip exact; 2^40 came back as {type(back['big']).__name__}, 7 as {type(back['small']).__name__}"


async def check_rpc_cancel(session):
    try:
        await session.call("slow", {"tag": "c1"}, cancel_after=0.15)
        return False, "slow answered"
    except RemoteError as error:
        rid = error.data["id"]
    aborted = await session.wait_event("slow.aborted")
    # Barrier: a later reply; a reply for the cancelled id would have come before the event.
    await session.call("math.add", {"a": 0, "b": 0})
    late = [r for r in session.late_replies if r[1] == rid]
    return aborted.get("tag") == "c1" and not late, f"rpc.cancel #{rid}: the handler's signal aborted ({aborted}); no reply for it"


async def check_rpc_server_calls(session):
    result = await session.call("callMe", None, timeout_ms=5000)
    hang = [r for r in session.requests if r[1] == "py.hang"]
    cancelled = bool(hang) and hang[-1][0] in session.cancels
    meta = hang[-1][2] if hang else None
    ok_calls = result.get("sum") == 5 and result.get("failCode") == "E_PY_FAIL" and result.get("failData") == {"why": "asked to"}
    ok_cancel = result.get("hangCode") == "E_TIMEOUT" and cancelled and isinstance(meta, dict) and as_int(meta.get("timeoutMs")) == 300
    report("rpc-server-to-client", ok_calls, f"server called py.add → {result.get('sum')}, py.fail → {result.get('failCode')} {result.get('failData')}")
    return ok_cancel, f"server's deadline (meta.timeoutMs {meta and meta.get('timeoutMs')}) → it failed with {result.get('hangCode')} and sent rpc.cancel #{hang[-1][0] if hang else '?'}"


async def check_events(session):
    data = {"n": 1, "blob": b"\x01\x02\x03", "list": [1, "two", None]}
    await session.emit("py.event", data)
    echoed = await session.wait_event("server.echo")
    return echoed == data, f"py.event → server.echo {echoed}"


async def check_broadcast(session, observer):
    await session.emit("py.broadcast", {"k": 5})
    mine = await session.wait_event("all.tick")
    theirs = await observer.wait_event("all.tick")
    return mine == theirs == {"k": 5}, "a broadcast reached both sessions; neither sent a subscribe frame"


async def check_clock(session, offset_ms):
    samples = []
    for _ in range(8):
        t1, t2, t3, t4 = await session.clock_probe()
        samples.append((((t2 - t1) + (t3 - t4)) / 2, (t4 - t1) - (t3 - t2)))
        await asyncio.sleep(0.02)
    theta, delta = min(samples, key=lambda s: s[1])
    error_us = theta - offset_ms * 1000
    session.theta = theta
    # One sample's error is at most δ/2, plus the two processes' anchors.
    ok = delta >= 0 and abs(error_us) <= delta / 2 + ANCHOR_US
    return ok, f"θ {theta / 1000:.3f} ms (server shifted {offset_ms} ms: error {error_us:.0f} µs), δ {delta:.0f} µs"


ITEMS = 48


def upload_item(i):
    if i % 2 == 0:
        return bytes((i + j) % 256 for j in range(1500))
    return {"i": i, "text": f"item {i}", "nested": {"ok": True, "list": [i, i * 2]}, "when": 2**40 + i}


async def check_upload(session):
    out = await session.open_stream("upload", {"items": ITEMS, "from": "python"})
    digest = hashlib.sha256()
    for i in range(ITEMS):
        item = upload_item(i)
        if isinstance(item, bytes):
            digest.update(item)
        await session.write(out, item)
    await session.end_stream(out)
    result = None
    for _ in range(100):
        result = await session.call("uploadResult")
        if result.get("done"):
            break
        await asyncio.sleep(0.05)
    expected = {"done": True, "items": ITEMS, "bytesHash": digest.hexdigest(), "maps": ITEMS // 2, "seqsInOrder": True, "meta": {"items": ITEMS, "from": "python"}, "error": None}
    ok = result == expected and out.waits > 0 and out.aborted is None
    return ok, f"stream {out.id}: {ITEMS} items ({ITEMS // 2} bin, {ITEMS // 2} maps), {out.credit.sent} credit bytes sent within grants up to {out.credit.max}, waited for credit {out.waits}×; server read {result}"


async def check_download(session):
    session.stream_handlers["download"] = True
    await session.call("startDownload", {"items": ITEMS})
    stream = await asyncio.wait_for(session.incoming.get(), 5)
    seqs, digest, maps, lags = [], hashlib.sha256(), 0, []
    while True:
        item = await asyncio.wait_for(stream.items.get(), 5)
        if item is None:
            break
        seq, wall, data, size, arrived = item
        seqs.append(seq)
        lags.append(arrived + session.theta - wall)
        if isinstance(data, bytes):
            digest.update(data)
        elif isinstance(data, dict) and data.get("i") == seq:
            maps += 1
        await asyncio.sleep(0.002)  # a slow reader: the server must wait for credit
        await session.consumed(stream, size)
    want = hashlib.sha256(b"".join(bytes((i * 7 + j) % 256 for j in range(1500)) for i in range(0, ITEMS, 2))).hexdigest()
    ok = stream.ended and not stream.overrun and stream.error is None and seqs == list(range(ITEMS)) and digest.hexdigest() == want and maps == ITEMS // 2
    ok = ok and stream.id % 2 == 0 and stream.meta == {"items": ITEMS}
    # wallTime is the server's timebase: arrival (mapped through θ) minus wallTime is a small lag.
    ok_time = min(lags) > -ANCHOR_US - 2000 and max(lags) < 5_000_000
    report("stream-walltime", ok_time, f"arrival − wallTime in the server's timebase: {min(lags) / 1000:.2f} … {max(lags) / 1000:.2f} ms")
    return ok, f"stream {stream.id} (even: the server opened it), meta {stream.meta}, seq 0…{seqs[-1] if seqs else '-'} in order, {ITEMS} items exact, credit never exceeded (window {session.stream_window}), server reported blocked {len(stream.blocked_reports)}×"


async def check_reconnect_counting(session):
    # The server (reconnect loaded) acknowledges the frames it counted; we did not list reconnect.
    for _ in range(40):
        if session.last_ack == session.sent_counted:
            break
        session.ack_seen.clear()
        try:
            await asyncio.wait_for(session.ack_seen.wait(), 0.5)
        except asyncio.TimeoutError:
            pass
    return session.last_ack == session.sent_counted, f"reconnect.ack {session.last_ack}, counted frames sent {session.sent_counted}"


async def check_close(session, observer):
    sid = session.welcome["sessionId"]
    loop = asyncio.get_running_loop()
    started = loop.time()
    code, reason = await session.close(1000, "conformance done")
    left = await observer.wait_event("left")
    took = loop.time() - started
    # The test's server keeps lost sessions 60 s (graceMs): a disconnect within 2 s was not a suspension.
    ok = code == 1000 and left.get("sessionId") == sid and left.get("code") == 1000 and took < 2
    return ok, f"closed with 1000 (server answered {code}); the server's disconnect ran {took * 1000:.0f} ms later, not suspended"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--offset-ms", type=float, default=0)
    args = parser.parse_args()
    url = args.url

    # Handshake refusals, each on its own connection, concurrently (the timeout takes ~1 s).
    await asyncio.gather(
        run_check("refuse-v1-hello", check_v1_refused(url)),
        run_check("refuse-garbage", check_garbage_refused(url)),
        run_check("refuse-not-a-frame", check_not_a_frame_refused(url)),
        run_check("refuse-first-not-hello", check_first_not_hello(url)),
        run_check("refuse-malformed-hello", check_malformed_hello(url)),
        run_check("refuse-plugin-mismatch", check_plugin_mismatch(url)),
        run_check("handshake-timeout", check_handshake_timeout(url)),
        run_check("oversize-message", check_oversize(url)),
    )

    observer = Session(url, {"events": 1})
    await observer.open()
    session = Session(url, PLUGINS)
    session.theta = 0.0

    async def py_add(params, meta):
        return params["a"] + params["b"]

    async def py_fail(params, meta):
        raise RemoteError({"code": "E_PY_FAIL", "message": "py.fail fails on purpose", "data": {"why": "asked to"}})

    async def py_hang(params, meta):
        await asyncio.sleep(3600)

    session.handlers.update({"py.add": py_add, "py.fail": py_fail, "py.hang": py_hang})

    await run_check("handshake", check_handshake(session))
    if session.welcome is None:
        report("session", False, "no session: the remaining checks cannot run")
        return 1
    for name, check in (
        ("heartbeat", check_heartbeat(session)),
        ("unknown-kind", check_unknown_kind(session)),
        ("rpc-call", check_rpc_call(session)),
        ("rpc-errors", check_rpc_errors(session)),
        ("rpc-numbers", check_rpc_numbers(session)),
        ("rpc-cancel", check_rpc_cancel(session)),
        ("rpc-server-timeout-cancel", check_rpc_server_calls(session)),
        ("events", check_events(session)),
        ("events-broadcast", check_broadcast(session, observer)),
        ("clock-sync", check_clock(session, args.offset_ms)),
        ("stream-upload", check_upload(session)),
        ("stream-download", check_download(session)),
        ("reconnect-counting", check_reconnect_counting(session)),
        ("close", check_close(session, observer)),
    ):
        await run_check(name, check)
    await observer.close()
    failed = results.count(False)
    print(f"summary: {results.count(True)} ok, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
