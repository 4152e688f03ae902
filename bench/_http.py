"""A keep-alive HTTP/1.1 client for load generators that share the server's cores: a socket, one
formatted request and a header split (no email-parser headers, no buffered file reads), because every
millisecond the generator spends is taken from the server it measures (0.06 ms of CPU a request here;
the Turing load generator went from 0.66 to about 0.5 ms per answer with it, sessions and forms
included). It speaks to the loopback servers our benchmarks start, not to the web: no TLS, no proxies;
Content-Length and chunked bodies, and a new connection when the server closes one."""
from __future__ import annotations

import socket


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str:
        name = name.lower()
        return next((value for key, value in self.headers if key == name), "")

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    @property
    def text(self) -> str:
        return self.body.decode()


class Connection:
    def __init__(self, host: str, port: int, timeout: float = 30):
        self.address, self.timeout = (host, port), timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Response:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.address[0]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        response = self.read_response(method)
        if response.header("connection").lower() == "close":
            self.close()
        return response

    def read_response(self, method: str) -> Response:
        head = self.read_until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        response = Response(int(status_line.split()[1]), headers, b"")
        if method == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200:
            return response
        if response.header("transfer-encoding").lower() == "chunked":
            response.body = self.read_chunked()
        elif response.header("content-length"):
            response.body = self.read_exactly(int(response.header("content-length")))
        else:  # the body runs to the end of the connection
            response.body = self.buffer + self.read_all()
            self.close()
        return response

    def fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data

    def read_until(self, marker: bytes) -> bytes:
        while (end := self.buffer.find(marker)) < 0:
            self.fill()
        found, self.buffer = self.buffer[:end], self.buffer[end + len(marker):]
        return found

    def read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.fill()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def read_chunked(self) -> bytes:
        parts = []
        while size := int(self.read_until(b"\r\n").split(b";")[0], 16):
            parts.append(self.read_exactly(size))
            self.read_until(b"\r\n")
        self.read_until(b"\r\n")  # no trailers from our servers: the empty line after the last chunk
        return b"".join(parts)

    def read_all(self) -> bytes:
        parts = []
        while data := self.sock.recv(65536):
            parts.append(data)
        return b"".join(parts)
