"""The pooled HTTP/1.1 upstream client against scripted raw-socket servers.

Each server reads one request head (+ content-length body) per turn and answers with the
exact bytes a test scripts, so framing, reuse, breakage and timeouts are all under control.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import ssl
from typing import Awaitable, Callable

import pytest

from triage.config.settings import Timeouts
from triage.providers.base import ErrorClass, UpstreamError, UpstreamRequest
from triage.upstream.client import HOP_HEADER, UpstreamClient

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # -> keep the connection open?


class Server:
    """Answers each request with ``reply(request_bytes, writer)``; counts connections."""

    def __init__(self, reply: Reply, ssl_ctx: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.ssl = ssl_ctx
        self.connections = 0
        self.requests: list[bytes] = []

    async def __aenter__(self) -> "Server":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/v1/chat/completions"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                if not await self.reply(head + body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def ok(body: bytes = b'{"ok": true}', extra: bytes = b"") -> Reply:
    async def reply(_req: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n" % (len(body), extra) + body)
        await w.drain()
        return True

    return reply


def client(**timeouts: float) -> UpstreamClient:
    return UpstreamClient(Timeouts(**{"connect": 2.0, "first_byte": 2.0, "idle": 2.0, "total": 10.0, **timeouts}), "hop-id")


def post(url: str, body: bytes = b'{"x": 1}', headers: dict[str, str] | None = None) -> UpstreamRequest:
    return UpstreamRequest("POST", url, {"content-type": "application/json", **(headers or {})}, body)


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


def test_keep_alive_reuses_one_connection_and_sends_the_hop_header() -> None:
    async def main() -> None:
        async with Server(ok()) as srv:
            c = client()
            await c.start()
            for _ in range(5):
                r = await c.send(post(srv.url(), headers={"authorization": "Bearer k"}))
                assert r.status == 200 and r.headers["content-type"] == "application/json"
                assert await r.read() == b'{"ok": true}'
            await c.close()
        assert srv.connections == 1
        head = srv.requests[0].split(b"\r\n\r\n")[0].lower()
        assert head.startswith(b"post /v1/chat/completions http/1.1\r\n")
        assert f"host: 127.0.0.1:{srv.port}".encode() in head and f"{HOP_HEADER}: hop-id".encode() in head
        assert b"authorization: bearer k" in head and b"content-length: 8" in head
        assert srv.requests[0].endswith(b'{"x": 1}')

    run(main())


def test_concurrent_calls_each_get_a_connection_and_all_return_to_the_pool() -> None:
    async def slow(_req: bytes, w: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.05)
        return await ok()(_req, w)

    async def main() -> None:
        async with Server(slow) as srv:
            c = client()
            await c.start()

            async def one() -> bytes:
                return await (await c.send(post(srv.url()))).read()

            assert await asyncio.gather(*(one() for _ in range(4))) == [b'{"ok": true}'] * 4
            assert srv.connections == 4
            await asyncio.gather(*(one() for _ in range(4)))
            assert srv.connections == 4
            await c.close()

    run(main())


CHUNKED = (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n"
           b"7\r\ndata: 1\r\n9;ext=1\r\n\n\ndata: 2\r\n2\r\n\n\n\r\n0\r\nx-trailer: t\r\n\r\n")  # fmt: skip


def test_chunked_body_split_at_every_byte_boundary() -> None:
    state = {"cut": 0}

    async def reply(_req: bytes, w: asyncio.StreamWriter) -> bool:
        cut = state["cut"]
        w.write(CHUNKED[:cut])
        await w.drain()
        await asyncio.sleep(0.001)
        w.write(CHUNKED[cut:])
        await w.drain()
        return True

    async def main() -> None:
        async with Server(reply) as srv:
            c = client()
            await c.start()
            for cut in range(1, len(CHUNKED)):
                state["cut"] = cut
                r = await c.send(post(srv.url()))
                got = b"".join([chunk async for chunk in r.iter_chunks()])
                assert got == b"data: 1\n\ndata: 2\n\n", cut
            for cut in range(1, len(CHUNKED)):
                state["cut"] = cut
                assert await (await c.send(post(srv.url()))).read() == b"data: 1\n\ndata: 2\n\n"
            await c.close()
        assert srv.connections == 1  # every response ended cleanly, so one connection served them all

    run(main())


def test_a_server_closing_mid_body_is_a_connection_error_and_the_connection_is_not_reused() -> None:
    calls = {"n": 0}

    async def reply(_req: bytes, w: asyncio.StreamWriter) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            w.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + b"x" * 40)
            await w.drain()
            return False
        return await ok()(_req, w)

    async def main() -> None:
        async with Server(reply) as srv:
            c = client()
            await c.start()
            r = await c.send(post(srv.url()))
            with pytest.raises(UpstreamError) as e:
                await r.read()
            assert e.value.error_class is ErrorClass.CONNECTION and e.value.status == 502
            assert await (await c.send(post(srv.url()))).read() == b'{"ok": true}'
            await c.close()
        assert srv.connections == 2

    run(main())


def test_a_stream_cut_mid_chunk_raises_after_the_data_that_arrived() -> None:
    async def reply(_req: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nwor")
        await w.drain()
        return False

    async def main() -> None:
        async with Server(reply) as srv:
            c = client()
            await c.start()
            r = await c.send(post(srv.url()))
            got = b""
            with pytest.raises(UpstreamError) as e:
                async for chunk in r.iter_chunks():
                    got += chunk
            assert e.value.error_class is ErrorClass.CONNECTION and got.startswith(b"hello")
            await c.close()

    run(main())


def test_a_half_read_response_closes_its_connection() -> None:
    async def reply(_req: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await w.drain()
        await asyncio.sleep(0.2)
        w.write(b"0\r\n\r\n")
        await w.drain()
        return True

    async def main() -> None:
        async with Server(reply) as srv:
            c = client()
            await c.start()
            r = await c.send(post(srv.url()))
            async for _chunk in r.iter_chunks():
                break
            r.close()
            r = await c.send(post(srv.url()))
            assert [x async for x in r.iter_chunks()] == [b"hello"]
            await c.close()
        assert srv.connections == 2

    run(main())


def test_a_pooled_connection_the_server_closed_is_replaced_transparently() -> None:
    async def reply(req: bytes, w: asyncio.StreamWriter) -> bool:
        await ok()(req, w)
        return False  # close after every answer, without saying so

    async def main() -> None:
        async with Server(reply) as srv:
            c = client()
            await c.start()
            for _ in range(3):
                assert await (await c.send(post(srv.url()))).read() == b'{"ok": true}'
                await asyncio.sleep(0.05)
            await c.close()
        assert srv.connections == 3

    run(main())


def test_body_until_close_and_connection_close_are_not_reused() -> None:
    async def reply(_req: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        await w.drain()
        return False

    async def main() -> None:
        async with Server(reply) as srv:
            c = client()
            await c.start()
            for _ in range(2):
                assert await (await c.send(post(srv.url()))).read() == b"all of it"
            await c.close()
        assert srv.connections == 2

    run(main())


def test_gzip_bodies_are_decoded_and_interim_answers_skipped() -> None:
    body = gzip.compress(b'{"big": "' + b"a" * 5000 + b'"}')

    async def reply(_req: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        await w.drain()
        return True

    async def main() -> None:
        async with Server(reply) as srv:
            c = client()
            await c.start()
            r = await c.send(post(srv.url()))
            assert r.status == 200 and await r.read() == b'{"big": "' + b"a" * 5000 + b'"}'
            await c.close()

    run(main())


def test_timeouts_before_the_head_and_between_reads() -> None:
    async def silent(_req: bytes, w: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    async def stalls(_req: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await w.drain()
        await asyncio.sleep(5)
        return False

    async def main() -> None:
        async with Server(silent) as srv:
            c = client(first_byte=0.2)
            await c.start()
            with pytest.raises(UpstreamError) as e:
                await c.send(post(srv.url()))
            assert e.value.error_class is ErrorClass.TIMEOUT and e.value.status == 504 and "0.2s" in e.value.message
            await c.close()
        async with Server(stalls) as srv:
            c = client(idle=0.2)
            await c.start()
            r = await c.send(post(srv.url()))
            got = []
            with pytest.raises(UpstreamError) as e:
                async for chunk in r.iter_chunks():
                    got.append(chunk)
            assert got == [b"hello"] and e.value.error_class is ErrorClass.TIMEOUT and "silent for 0.2s" in e.value.message
            await c.close()
        async with Server(stalls) as srv:
            c = client(idle=5, total=0.3)
            await c.start()
            r = await c.send(post(srv.url()))
            with pytest.raises(UpstreamError) as e:
                await r.read()
            assert e.value.error_class is ErrorClass.TIMEOUT
            await c.close()

    run(main())


def test_refused_connection_and_header_injection_are_connection_errors() -> None:
    async def main() -> None:
        async with Server(ok()) as srv:
            port = srv.port
        c = client()
        await c.start()
        with pytest.raises(UpstreamError) as e:
            await c.send(post(f"http://127.0.0.1:{port}/v1/x"))
        assert e.value.error_class is ErrorClass.CONNECTION and e.value.message.startswith("cannot connect to the upstream")
        with pytest.raises(UpstreamError) as e:
            await c.send(post(f"http://127.0.0.1:{port}/v1/x", headers={"x-key": "a\r\nx-evil: 1"}))
        assert e.value.error_class is ErrorClass.CONNECTION
        await c.close()

    run(main())


def _self_signed(tmp_path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))  # fmt: skip
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls_to_a_self_signed_server_trusted_explicitly_and_refused_by_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def main() -> None:
        async with Server(ok(), server_ctx) as srv:
            trusting = UpstreamClient(Timeouts(), "hop", ssl_context=ssl.create_default_context(cafile=cert))
            await trusting.start()
            for _ in range(2):
                assert await (await trusting.send(post(srv.url("https")))).read() == b'{"ok": true}'
            await trusting.close()
            default = client()
            await default.start()
            with pytest.raises(UpstreamError) as e:
                await default.send(post(srv.url("https")))
            assert e.value.error_class is ErrorClass.CONNECTION
            await default.close()
        assert srv.connections == 1  # the trusted client reused its TLS connection; the refused one never got in

    run(main())


# --- relay: the body handed to a sink from data_received (the stream fast path) ----------------


def test_relay_hands_every_byte_to_the_sink_and_reuses_the_connection() -> None:
    async def main() -> None:
        async with Server(lambda req, w: _write(w, CHUNKED)) as srv:
            c = client()
            await c.start()
            for _ in range(2):
                r = await c.send(post(srv.url()))
                got: list[bytes] = []
                await r.relay(got.append, _never)  # append returns None: never full
                assert b"".join(got) == b"data: 1\n\ndata: 2\n\n"
            assert srv.connections == 1  # a relayed body that ended cleanly returns its connection
            await c.close()

    run(main())


def test_relay_pauses_reading_while_the_sink_is_full_and_resumes_after_drain() -> None:
    pieces = [b"x" * 1000] * 50
    body = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"

    async def trickle(_req: bytes, w: asyncio.StreamWriter) -> bool:
        await _write(w, b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 5000):
            await asyncio.sleep(0.002)
            await _write(w, body[i : i + 5000])
        return True

    async def main() -> None:
        async with Server(trickle) as srv:
            c = client()
            await c.start()
            r = await c.send(post(srv.url()))
            conn = r._conn
            got: list[bytes] = []
            drains = []

            async def drain() -> None:
                assert conn.paused  # the sink said full: the upstream is not read meanwhile
                drains.append(len(got))
                await asyncio.sleep(0.01)

            await r.relay(lambda b: got.append(b) or True, drain)  # always full: every read waits for drain
            assert b"".join(got) == b"x" * 50_000 and drains and not conn.paused
            await c.close()

    run(main())


def test_relay_raises_the_sink_error_as_is_and_drops_the_connection() -> None:
    class Boom(Exception):
        pass

    def sink(_b: bytes) -> bool:
        raise Boom()

    async def head_then_body(_req: bytes, w: asyncio.StreamWriter) -> bool:
        await _write(w, CHUNKED[:80])  # the head; the body comes later, to the sink
        await asyncio.sleep(0.05)
        return await _write(w, CHUNKED[80:])

    async def main() -> None:
        async with Server(head_then_body) as srv:
            c = client()
            await c.start()
            r = await c.send(post(srv.url()))
            with pytest.raises(Boom):
                await r.relay(sink, _never)
            r.close()
            await (await c.send(post(srv.url()))).read()
            assert srv.connections == 2
            await c.close()

    run(main())


def test_relay_of_a_cut_or_stalled_stream_raises_upstream_errors() -> None:
    async def cut(_req: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nwor")
        await w.drain()
        return False

    async def stalls(_req: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await w.drain()
        await asyncio.sleep(5)
        return False

    async def main() -> None:
        for reply, cls, idle in ((cut, ErrorClass.CONNECTION, 2.0), (stalls, ErrorClass.TIMEOUT, 0.2)):
            async with Server(reply) as srv:
                c = client(idle=idle)
                await c.start()
                r = await c.send(post(srv.url()))
                got: list[bytes] = []
                with pytest.raises(UpstreamError) as e:
                    await r.relay(got.append, _never)  # append returns None: never full
                assert e.value.error_class is cls and b"".join(got).startswith(b"hello")
                await c.close()

    run(main())


async def _write(w: asyncio.StreamWriter, data: bytes) -> bool:
    w.write(data)
    await w.drain()
    return True


async def _never() -> None:
    raise AssertionError("drain() called although the sink never said full")
