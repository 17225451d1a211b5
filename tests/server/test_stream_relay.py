"""The relayed stream path (upstream bytes written to the client's transport from the upstream
connection's data_received): back-pressure from a slow client, and a client that leaves while
the relay is paused. Usage withheld/forwarded, routing_info, cut streams and an ordinary
disconnect are covered through the same path by test_chat_openai_sdk.py and test_resilience.py.
"""

from __future__ import annotations

import json
import socket
import time

from tests.server.test_resilience import EASY, start

BIG = 12_000_000  # characters of answer: far above the client transport's high-water mark


def _request(body: dict) -> bytes:
    raw = json.dumps(body).encode()
    return (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(raw)).encode() + b"\r\n\r\n" + raw)  # fmt: skip


def _slow_socket(port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the gateway's writes back up
    s.connect(("127.0.0.1", port))
    s.settimeout(20)
    return s


def _dechunk(data: bytes) -> bytes:
    out, pos = [], 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2 : end + 2 + size])
        pos = end + 2 + size + 2


def test_a_slow_client_gets_the_whole_stream_intact(fake, tmp_path):
    with start(fake, tmp_path) as gw:
        fake.script({"text": "ab" * (BIG // 2), "chunks": 200})
        s = _slow_socket(gw.port)
        s.sendall(_request({"model": "gpt-5.4-mini", "messages": EASY, "stream": True}))
        time.sleep(1.0)  # not reading: the relay must pause the upstream, not buffer 2 MB
        data = b""
        while not data.endswith(b"\r\n0\r\n\r\n"):
            got = s.recv(65536)
            assert got, "the gateway closed the stream early"
            data += got
        s.close()
        rows = gw.ledger_rows()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower()
    events = [e[6:] for e in _dechunk(body).split(b"\n\n") if e.startswith(b"data: ")]
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "ab" * (BIG // 2)
    assert chunks[-1]["routing_info"]["selected_model"] == "gpt-5.4-mini" and "usage" not in chunks[-1]
    assert rows[0]["status"] == 200 and rows[0]["output_tokens"] > 0


def test_a_client_leaving_while_the_relay_is_paused_is_ledgered_499(fake, tmp_path):
    with start(fake, tmp_path) as gw:
        fake.script({"text": "ab" * (BIG // 2), "chunks": 200, "interval": 0.01})
        s = _slow_socket(gw.port)
        s.sendall(_request({"model": "gpt-5.4-mini", "messages": EASY, "stream": True, "stream_options": {"include_usage": True}}))
        s.recv(4096)
        time.sleep(0.5)  # the gateway's writes back up and the relay pauses the upstream
        s.close()
        for _ in range(100):
            rows = gw.ledger_rows()
            if rows:
                break
            time.sleep(0.05)
    assert rows[0]["status"] == 499 and rows[0]["error_class"] == "client_closed_request"
    assert rows[0]["input_tokens"] == 0 or rows[0]["answered_model"] == "gpt-5.4-mini"


def test_the_relay_is_only_used_behind_uvicorns_httptools_cycle():
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

    from triage.server.asgi import raw_stream_cycle

    async def plain_send(_msg):  # another server's send, or a wrapped one
        pass

    class Flow:
        write_paused = False

        async def drain(self):
            pass

    cycle = RequestResponseCycle.__new__(RequestResponseCycle)  # its state as uvicorn's send sets it
    cycle.scope = {"method": "POST"}
    cycle.transport, cycle.flow = object(), Flow()
    cycle.response_started, cycle.response_complete, cycle.chunked_encoding, cycle.disconnected = True, False, True, False
    assert raw_stream_cycle(plain_send) is None
    assert raw_stream_cycle(cycle.send) is cycle
    cycle.chunked_encoding = False  # a content-length body
    assert raw_stream_cycle(cycle.send) is None
    cycle.chunked_encoding, cycle.disconnected = True, True
    assert raw_stream_cycle(cycle.send) is None
    del cycle.flow  # internals renamed by another uvicorn
    cycle.disconnected = False
    assert raw_stream_cycle(cycle.send) is None
