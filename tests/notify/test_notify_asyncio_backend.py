"""Webhooks over asyncio's own streams (services/common/asyncio_backend.py): plain and TLS posts,
a receiver closing an idle connection, timeouts and refusals as httpcore's errors."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.common.asyncio_backend import AsyncioBackend
from services.common.checked_connect import CheckedBackend, checked_transport

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return head + await reader.readexactly(length)


class Receiver:
    """A raw HTTP/1.1 receiver on loopback: counts connections and requests."""

    def __init__(self, *, close_after_answer: bool = False, answer: bool = True) -> None:
        self.connections = self.requests = 0
        self.close_after_answer, self.answer = close_after_answer, answer

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                await read_request(reader)
                self.requests += 1
                if not self.answer:
                    await asyncio.sleep(30)
                writer.write(OK)
                await writer.drain()
                if self.close_after_answer:  # a receiver ending idle connections at once
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(handler: Handler, ssl_context: ssl.SSLContext | None = None
                  ) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def pool() -> httpcore.AsyncConnectionPool:
    return httpcore.AsyncConnectionPool(network_backend=AsyncioBackend())


async def post(http: httpcore.AsyncConnectionPool, url: str, timeout: float = 5.0) -> int:
    response = await http.request("POST", url, content=b"{}",
                                  extensions={"timeout": {"read": timeout, "connect": timeout,
                                                          "write": timeout, "pool": timeout}})
    return response.status


async def test_posts_reuse_one_connection() -> None:
    receiver = Receiver()
    async with serving(receiver) as port, pool() as http:
        assert [await post(http, f"http://127.0.0.1:{port}/h") for _ in range(3)] == [200] * 3
    assert (receiver.connections, receiver.requests) == (1, 3)


async def test_a_connection_the_receiver_closed_is_dropped_before_use() -> None:
    """The receiver answers, then closes: the next post opens a new connection and succeeds,
    the closed one is seen from the reader's state, never written to."""
    receiver = Receiver(close_after_answer=True)
    async with serving(receiver) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        await stream.write(b"POST /h HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
        assert (await stream.read(1024)).startswith(b"HTTP/1.1 200")
        for _ in range(100):
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True
        await stream.aclose()
        async with pool() as http:
            assert [await post(http, f"http://127.0.0.1:{port}/h") for _ in range(3)] == [200] * 3
    assert receiver.requests == 4 and receiver.connections == 4


async def test_an_idle_open_connection_is_not_readable() -> None:
    async with serving(Receiver()) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("server_addr")[1] == port
        assert stream.get_extra_info("ssl_object") is None
        await stream.aclose()


async def test_a_silent_receiver_is_a_read_timeout() -> None:
    async with serving(Receiver(answer=False)) as port, pool() as http:
        with pytest.raises(httpcore.ReadTimeout):
            await post(http, f"http://127.0.0.1:{port}/h", timeout=0.2)


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with serving(Receiver()) as port:
        pass
    # the receiver has stopped listening on that port
    with pytest.raises(httpcore.ConnectError):
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)


async def test_writing_to_a_closed_connection_is_a_write_error() -> None:
    async with serving(Receiver()) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        await stream.aclose()
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"late")


def self_signed(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting only that server's certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.test")]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server, ssl.create_default_context(cafile=str(cert_file))


async def test_https_verifies_the_receivers_certificate_against_the_url_host(
        tmp_path: Path) -> None:
    """TLS over the checked backend: the name resolves to loopback (development allows it) and
    the certificate is checked against the URL's host; an unknown certificate is refused."""
    server_tls, trusting = self_signed(tmp_path)
    receiver = Receiver()

    async def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    backend = CheckedBackend(development=True, allowed=(), resolver=to_loopback)
    async with serving(receiver, server_tls) as port:
        url = f"https://hooks.test:{port}/h"
        limits = httpx.Limits(max_connections=2)
        trusted = checked_transport(limits=limits, backend=backend, verify=trusting)
        async with httpx.AsyncClient(transport=trusted) as client:
            assert (await client.post(url, content=b"{}")).status_code == 200
        untrusted = checked_transport(limits=limits, backend=backend)  # the system's CAs
        async with httpx.AsyncClient(transport=untrusted) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.post(url, content=b"{}")
    assert receiver.requests == 1


def test_https_under_uvloop_as_the_services_run(tmp_path: Path) -> None:
    import uvloop

    uvloop.run(test_https_verifies_the_receivers_certificate_against_the_url_host(tmp_path))
