"""A web site of someone else on its own loopback origin, serving pages that embed a tag (the widget's script)."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

from stack import free_port


@dataclass
class HostSite:
    origin: str  # what the browser sends as Origin from its pages
    pages: dict[str, bytes]  # path → body

    def page(self, tag: str) -> str:
        """The URL of a new page of this site embedding ``tag``, with styles of its own the widget must not touch."""
        path = f"/trang-{len(self.pages)}.html"
        self.pages[path] = (f'<!doctype html><html lang="vi"><head><meta name="viewport" content="width=device-width">'
                            f'<style>p {{ color: green }} button {{ font-size: 40px }}</style></head>'
                            f'<body><p>Trang chủ của sở, ngành</p>{tag}</body></html>').encode()
        return f"{self.origin}{path}"


@contextmanager
def host_site() -> Iterator[HostSite]:
    """A site on 127.0.0.1 and a port of its own for the ``with`` block."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    site = HostSite(f"http://127.0.0.1:{server.server_address[1]}", pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
