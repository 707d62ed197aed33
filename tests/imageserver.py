"""A local image server on 127.0.0.1 for tests and benchmarks, and the images it serves.

Images are made with Pillow, so every format is real: PNG, JPEG, GIF (animated), WebP
(lossy and with alpha), AVIF, TIFF, ICO, BMP, an SVG carrying script, and misbehaving
routes (404, a redirect, a slow answer, an oversized body, HTML instead of an image, a
JPEG that calls itself PNG). Any path under ``/any/`` answers with an image whose format
follows from the path, for feeds whose image URLs were rewritten to this server.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from PIL import Image, ImageDraw

EVIL_SVG = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="120" height="80" onload="alert(1)">
  <script>alert('svg')</script>
  <style>@import url(http://evil.example/x.css); rect { fill: red }</style>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#08f"/></linearGradient></defs>
  <rect width="120" height="80" fill="url(#g)" onclick="steal()"/>
  <circle cx="60" cy="40" r="20" style="fill: url(http://evil.example/p.png)"/>
  <image xlink:href="http://evil.example/remote.png" width="10" height="10"/>
  <use xlink:href="http://evil.example/sprite.svg#icon"/>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
  <a xlink:href="javascript:alert(2)"><text x="10" y="70">chart &x;</text></a>
  <animate attributeName="href" to="javascript:alert(3)"/>
</svg>
"""


def picture(
    width: int, height: int, colour: tuple[int, int, int], mode: str = "RGB"
) -> Image.Image:
    """A picture with some structure (so lossy formats have something to keep)."""
    image = Image.new(mode, (width, height), colour + ((200,) if mode == "RGBA" else ()))
    draw = ImageDraw.Draw(image)
    for i in range(0, max(width, height), max(4, width // 10)):
        draw.line((i, 0, 0, i), fill=(255, 255, 255) + ((255,) if mode == "RGBA" else ()), width=2)
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [picture(60, 40, (200, 0, 0)), picture(60, 40, (0, 0, 200))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def make_images() -> dict[str, bytes]:
    """Path → bytes of every fixed route that serves an image."""
    return {
        "/ok.png": encode(picture(64, 48, (200, 30, 30)), "PNG"),
        "/ok2.png": encode(picture(64, 48, (30, 200, 30)), "PNG"),
        "/photo.jpg": encode(picture(120, 90, (30, 30, 200)), "JPEG", quality=80),
        "/anim.gif": animated_gif(),
        "/pic.webp": encode(picture(80, 60, (120, 60, 10)), "WEBP", quality=80),
        "/alpha.webp": encode(picture(80, 60, (10, 60, 120), "RGBA"), "WEBP", lossless=True),
        "/pic.avif": encode(picture(80, 60, (60, 120, 10)), "AVIF", quality=60),
        "/pic.tiff": encode(picture(50, 40, (90, 90, 10)), "TIFF"),
        "/icon.ico": encode(picture(32, 32, (10, 90, 90)), "ICO"),
        "/pic.bmp": encode(picture(50, 40, (90, 10, 90)), "BMP"),
        "/big.png": encode(picture(3000, 2000, (20, 20, 20)), "PNG"),
        "/evil.svg": EVIL_SVG,
        "/small.png": encode(picture(30, 20, (1, 2, 3)), "PNG"),
        "/large.png": encode(picture(90, 60, (3, 2, 1)), "PNG"),
        "/lazy.jpg": encode(picture(70, 50, (150, 150, 0)), "JPEG"),
        "/fake.png": encode(picture(40, 40, (0, 150, 150)), "JPEG"),  # a JPEG called .png
    }


def any_image(path: str) -> bytes:
    """A small image for any path: the format is chosen by the path's hash."""
    digest = hashlib.sha256(path.encode()).digest()
    colour = (digest[1], digest[2], digest[3])
    kind = digest[0] % 5
    if kind == 0:
        return encode(picture(48, 32, colour), "PNG")
    if kind == 1:
        return encode(picture(64, 40, colour), "JPEG", quality=70)
    if kind == 2:
        return encode(picture(40, 40, colour), "WEBP", quality=70)
    if kind == 3:
        return encode(picture(32, 24, colour), "GIF")
    return EVIL_SVG


class ImageHandler(BaseHTTPRequestHandler):
    images: ClassVar[dict[str, bytes]] = {}
    hits: ClassVar[list[str]] = []
    agents: ClassVar[list[str]] = []
    slow_seconds: ClassVar[float] = 3.0
    big_bytes: ClassVar[int] = 3 * 1024 * 1024

    def do_GET(self) -> None:
        cls = type(self)
        cls.hits.append(self.path)
        cls.agents.append(self.headers.get("User-Agent", ""))
        path = self.path.split("?", 1)[0]
        status, body, headers = 200, b"", {"Content-Type": "image/png"}
        if path in cls.images:
            body = cls.images[path]
        elif path.startswith("/any/"):
            body = any_image(path)
        elif path == "/redirect.png":
            status, headers = 302, {"Location": "/ok2.png"}
        elif path == "/slow.png":
            time.sleep(cls.slow_seconds)
            body = cls.images["/ok.png"]
        elif path == "/huge.png":
            body = b"\x89PNG\r\n\x1a\n" + b"\x00" * cls.big_bytes
        elif path == "/page.html":
            body, headers = b"<html><body>not an image</body></html>", {"Content-Type": "image/png"}
        else:
            status, body, headers = 404, b"missing", {"Content-Type": "text/plain"}
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, size cap), as it should

    def log_message(self, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@contextmanager
def serving(images: dict[str, bytes] | None = None) -> Iterator[str]:
    """Serve the images on 127.0.0.1; yields the base URL (no trailing slash)."""
    ImageHandler.images = make_images() if images is None else images
    ImageHandler.hits = []
    ImageHandler.agents = []
    server = QuietServer(("127.0.0.1", 0), ImageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
