"""A real HTTP server on 127.0.0.1 for download tests, serving good, odd and hostile responses.

`ImageServer().start()` picks a free port; `server.url("/cmyk.jpg")` gives a full URL. Routes:
static bytes, plus behaviours (fail N times then succeed, 429 with Retry-After, slow, oversize,
redirect loop). `server.hits[path]` counts requests per path.
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image


def make_photo(width: int = 120, height: int = 80, seed: int = 0) -> Image.Image:
    """A smooth, photo-like RGB picture (gradients and a blob), so that crops are distinguishable."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    red = (xx * 255 // max(width - 1, 1)).astype(np.uint8)
    green = (yy * 255 // max(height - 1, 1)).astype(np.uint8)
    blue = np.full((height, width), rng.integers(0, 255), np.uint8)
    return Image.fromarray(np.stack([red, green, blue], axis=2))


def jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, **kwargs)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def exif_rotated_jpeg() -> bytes:
    """Stored 120x80 but tagged orientation 6 (rotate 90 CW to display): upright it is 80x120."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg_bytes(make_photo(120, 80), exif=exif)


def cmyk_jpeg() -> bytes:
    return jpeg_bytes(make_photo(100, 100).convert("CMYK"))


def rgba_png() -> bytes:
    image = make_photo(64, 64).convert("RGBA")
    alpha = np.full((64, 64), 255, np.uint8)
    alpha[:, :32] = 0  # left half fully transparent: composited on white
    image.putalpha(Image.fromarray(alpha))
    return png_bytes(image)


def animated_gif() -> bytes:
    frames = [Image.new("P", (40, 30), color) for color in (10, 200)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def png16() -> bytes:
    ramp = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    return png_bytes(Image.fromarray(ramp))  # uint16 -> mode I;16


def truncated_jpeg() -> bytes:
    data = jpeg_bytes(make_photo(400, 300))
    return data[: len(data) // 2]


def decompression_bomb() -> bytes:
    """A 1-bit PNG of 12000 x 12000 (144 megapixels) that compresses to a few kB."""
    return png_bytes(Image.new("1", (12000, 12000), 0))


HTML = b"<!DOCTYPE html><html><body><h1>Image not found</h1></body></html>"


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early (timeouts, size caps, kills) are the point of these tests


class ImageServer:
    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.behaviours: dict[str, dict] = {}
        self.hits: Counter = Counter()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def add(self, path: str, body: bytes, content_type: str = "image/jpeg") -> str:
        self.routes[path] = (content_type, body)
        return self.url(path)

    def behave(self, path: str, **behaviour) -> str:
        self.behaviours[path] = behaviour
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> ImageServer:
        self._server = QuietServer((self.host, 0), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                with server.lock:
                    server.hits[path] += 1
                    hit = server.hits[path]
                behaviour = server.behaviours.get(path)
                if behaviour:
                    return server.serve_behaviour(self, behaviour, hit)
                if path not in server.routes:
                    return server.send(self, 404, b"not found", "text/plain")
                content_type, body = server.routes[path]
                server.send(self, 200, body, content_type)

        return Handler

    @staticmethod
    def send(handler, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def serve_behaviour(self, handler, b: dict, hit: int) -> None:
        if "delay" in b:
            time.sleep(b["delay"])
        if hit <= b.get("fail_times", 0):
            headers = {"Retry-After": str(b["retry_after"])} if "retry_after" in b else {}
            return self.send(handler, b["fail_status"], b"try later", "text/plain", headers)
        if "redirect" in b:
            return self.send(handler, 302, b"", "text/plain", {"Location": b["redirect"]})
        if "stream" in b:  # no Content-Length: the cap must hold on the streamed bytes
            handler.send_response(200)
            handler.send_header("Content-Type", "image/jpeg")
            handler.send_header("Connection", "close")
            handler.end_headers()
            try:
                for _ in range(b["stream"]):
                    handler.wfile.write(b"\xff" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
            handler.close_connection = True
            return None
        content_type, body = b.get("body", ("image/jpeg", b""))
        return self.send(handler, 200, body, content_type)
