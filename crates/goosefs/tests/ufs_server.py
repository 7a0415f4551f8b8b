#!/usr/bin/env python3
"""A Web UFS for the runtime tests: Python's http.server directory pages, plus what the tests
need and http.server lacks: byte ranges (as nginx and Apache serve them), a count of the GETs
and HEADs each path received, and injected faults.

    ufs_server.py <dir> <port-file> [address]

Binds the address (default 127.0.0.1) on a free port and writes the port to <port-file>. Control paths:
    GET /__stats                      -> JSON {path: {"GET": n, "HEAD": n}}
    GET /__fault?status=503&count=N   -> the next N requests for files answer that status
    GET /__fault?delay_ms=D&count=N   -> the next N requests for files wait D ms first
"""

import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
STATS = {}
FAULT = {"status": 0, "delay_ms": 0, "count": 0}


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def count(self):
        path = urllib.parse.urlsplit(self.path).path
        with LOCK:
            STATS.setdefault(path, {"GET": 0, "HEAD": 0})[self.command] += 1

    def control(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/__stats":
            with LOCK:
                body = json.dumps(STATS).encode()
        elif url.path == "/__fault":
            q = dict(urllib.parse.parse_qsl(url.query))
            with LOCK:
                FAULT["status"] = int(q.get("status", 0))
                FAULT["delay_ms"] = int(q.get("delay_ms", 0))
                FAULT["count"] = int(q.get("count", 0))
            body = b"ok"
        else:
            return False
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def fault(self):
        """Applies an injected fault to a file request; True when it answered."""
        if os.path.isdir(self.translate_path(self.path)):
            return False
        with LOCK:
            if FAULT["count"] <= 0:
                return False
            FAULT["count"] -= 1
            status, delay = FAULT["status"], FAULT["delay_ms"]
        if delay:
            time.sleep(delay / 1000)
        if status:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        return False

    def do_HEAD(self):
        if self.control():
            return
        self.count()
        if self.fault():
            return
        super().do_HEAD()

    def do_GET(self):
        if self.control():
            return
        self.count()
        if self.fault():
            return
        path = self.translate_path(self.path)
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if os.path.isdir(path) or not os.path.isfile(path) or not match:
            return super().do_GET()
        size = os.path.getsize(path)
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        if start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
        self.end_headers()
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


def main():
    root, port_file = sys.argv[1], sys.argv[2]
    handler = lambda *a, **k: Handler(*a, directory=root, **k)  # noqa: E731
    address = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    server = http.server.ThreadingHTTPServer((address, 0), handler)
    server.daemon_threads = True
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
