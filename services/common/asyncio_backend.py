"""httpcore's network layer on asyncio's own streams, for notify's webhooks.

httpcore runs on anyio under asyncio, and anyio's stream costs more than the HTTP around it:
every read and write opens a cancel scope with its own timer and checks for cancellation, and
the pool's check of an idle connection (`is_readable`) builds the socket's attribute table and
polls the socket. Measured with `python -m bench webhook` (three pairs): 1,283-1,313 µs of CPU
per webhook on anyio's stream, 962-1,036 on this one (docs/benchmarks.md, "Ninth round").
httpcore takes a network backend for exactly this (its `network_backend`, here under
CheckedBackend); the upstream discussion of this overhead is encode/httpx#3215.

asyncio's transport keeps reading while a connection is idle, so whether the receiver closed
it is known from the reader's state, with no syscall: the pool then drops it before use.
Errors and timeouts map to httpcore's exceptions, which httpx maps to its own, as anyio's do.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

READ_LIMIT = 64 * 1024  # asyncio's default stream buffer; reads are bounded by httpcore's size


@contextmanager
def _mapped(on_timeout: type[Exception], on_error: type[Exception]) -> Iterator[None]:
    try:
        yield
    except TimeoutError as exc:
        raise on_timeout(str(exc) or on_timeout.__name__) from exc
    except (OSError, EOFError, ssl.SSLError) as exc:  # ConnectionError is an OSError
        raise on_error(str(exc) or type(exc).__name__) from exc


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            if self._writer.is_closing():  # fail now, not at a later drain or read
                raise ConnectionResetError("connection closed")
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()  # waits only when the transport's buffer is full

    async def aclose(self) -> None:
        self._writer.close()  # not waiting for the peer: a gone receiver must not hold us

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            try:
                async with asyncio.timeout(timeout):
                    await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
            except BaseException:
                self._writer.close()
                raise
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # the receiver closed (or broke) the idle connection
            return self._reader.at_eof() or self._reader.exception() is not None
        name = {"ssl_object": "ssl_object", "client_addr": "sockname",
                "server_addr": "peername", "socket": "socket"}.get(info)
        return None if name is None else self._writer.get_extra_info(name)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = None if local_address is None else (local_address, 0)
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=local, limit=READ_LIMIT)
        sock = writer.get_extra_info("socket")
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            writer.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used here")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
