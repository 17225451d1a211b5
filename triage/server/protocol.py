"""uvicorn's httptools protocol, with malformed HTTP answered in OpenAI's error shape.

A request the HTTP parser refuses (control characters in a header, a broken request line)
never reaches the ASGI app; uvicorn would answer a bare text/plain 400. This subclass
answers the same 400 as JSON in the caller-facing error shape and records the rejection in
the ledger, so that every request that reached the gateway is accounted for.
"""

from __future__ import annotations

import secrets
import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from triage.ledger.record import LedgerRecord
from triage.server.errors import GatewayError


class TriageHttpProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        rid = "req_" + secrets.token_hex(12)
        err = GatewayError(400, f"malformed HTTP request: {msg}", code="invalid_http_request")
        body = err.openai_body()
        self.transport.write(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-request-id: " + rid.encode()
            + b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )  # fmt: skip
        self.transport.close()
        gw = getattr(self.app, "gw", None)
        if gw is not None:
            gw.writer.record(LedgerRecord(ts=time.time(), request_id=rid, surface="http", status=400, error_class="invalid_http_request"))
