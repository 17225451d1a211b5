"""The one pooled HTTP client the gateway sends every upstream call through.

Keep-alive connections are pooled per host by aiohttp's connector. Timeouts: ``connect``,
``first_byte`` (until the response headers), ``idle`` (longest silence while reading a body
or a stream) and ``total``. Failures to reach a provider become ``UpstreamError`` with class
CONNECTION or TIMEOUT; HTTP errors are classified by the provider's adapter.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import aiohttp

from triage.config.settings import Timeouts
from triage.providers.base import ErrorClass, UpstreamError, UpstreamRequest

HOP_HEADER = "x-triage-hop"


class UpstreamResponse:
    """Headers have arrived; the body is read with ``read()`` or ``iter_chunks()``."""

    __slots__ = ("_resp", "status", "headers", "_idle")

    def __init__(self, resp: aiohttp.ClientResponse, idle: float) -> None:
        self._resp = resp
        self.status = resp.status
        self.headers = resp.headers
        self._idle = idle

    async def read(self) -> bytes:
        try:
            return await self._resp.read()
        except asyncio.TimeoutError:
            raise UpstreamError(ErrorClass.TIMEOUT, f"the upstream went silent for {self._idle:g}s", status=504) from None
        except aiohttp.ClientError as e:
            raise UpstreamError(ErrorClass.CONNECTION, f"the upstream connection failed: {type(e).__name__}", status=502) from None

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        content = self._resp.content
        while True:
            try:
                data = await content.readany()
            except asyncio.TimeoutError:
                raise UpstreamError(ErrorClass.TIMEOUT, f"the upstream stream went silent for {self._idle:g}s", status=504) from None
            except aiohttp.ClientError as e:
                raise UpstreamError(ErrorClass.CONNECTION, f"the upstream stream broke: {type(e).__name__}", status=502) from None
            if not data:
                return
            yield data

    def close(self) -> None:
        self._resp.release()


class UpstreamClient:
    def __init__(self, timeouts: Timeouts, instance_id: str) -> None:
        self._timeouts = timeouts
        self._instance_id = instance_id
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.idle)

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60, ttl_dns_cache=300)
        # No cookies, no proxy from the environment: only what the user configured is contacted.
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False, auto_decompress=True,
            skip_auto_headers=("User-Agent",),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, req: UpstreamRequest) -> UpstreamResponse:
        assert self._session is not None, "UpstreamClient.start() was not awaited"
        headers = dict(req.headers)
        headers[HOP_HEADER] = self._instance_id
        try:
            async with asyncio.timeout(self._timeouts.first_byte):
                resp = await self._session.request(req.method, req.url, data=req.body, headers=headers, timeout=self._timeout)
        except TimeoutError:
            raise UpstreamError(ErrorClass.TIMEOUT, f"no answer from the upstream within {self._timeouts.first_byte:g}s", status=504) from None
        except aiohttp.ClientConnectorError as e:
            raise UpstreamError(ErrorClass.CONNECTION, f"cannot connect to the upstream: {e.os_error.strerror if e.os_error else type(e).__name__}", status=502) from None
        except aiohttp.ClientError as e:
            raise UpstreamError(ErrorClass.CONNECTION, f"the upstream connection failed: {type(e).__name__}", status=502) from None
        return UpstreamResponse(resp, self._timeouts.idle)
