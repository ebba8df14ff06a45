#!/usr/bin/env python3
"""A static package index for envaudit's tests: serves a folder written by the test.

    python3 simple_index_server.py ROOT LOG [--auth USER:PASSWORD] [--max-age SECONDS]

Binds 127.0.0.1 on a free port and prints the port as the first line of standard output.
It stops when its standard input closes, so it cannot outlive the test process that
started it.

- A directory is served as its `index.json` (`application/vnd.pypi.simple.v1+json`) when
  the `Accept` header ranks that type at least as high as HTML and the file exists, else as
  its `index.html` (`text/html`): PEP 691 content negotiation. `Vary: Accept` is sent.
- Every response has an `ETag` (the SHA-256 of the body, plus the form) and a
  `Last-Modified`; `If-None-Match` (or, without it, `If-Modified-Since`) answers 304.
- With `--auth`, every request needs that HTTP basic authorization, else 401.
- With `--max-age`, every 200 and 304 says `Cache-Control: max-age=SECONDS`, as PyPI says
  `max-age=600` of its pages; without it, no `Cache-Control` (a client revalidates).
- Each request is appended to LOG as one line: `METHOD PATH STATUS FORM`, where FORM is
  `json`, `html` or `-`.

Only the standard library is used.
"""

import base64
import email.utils
import hashlib
import http.server
import os
import posixpath
import sys
import threading
import urllib.parse

JSON = "application/vnd.pypi.simple.v1+json"
JSON_TYPES = {JSON, "application/vnd.pypi.simple.latest+json"}
HTML_TYPES = {"text/html", "application/vnd.pypi.simple.v1+html",
              "application/vnd.pypi.simple.latest+html", "*/*", "text/*"}


def accept_ranks(header):
    """(q for JSON, q for HTML) from an Accept header."""
    if not header:
        return 0.0, 1.0
    q_json = q_html = 0.0
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media, q = fields[0].lower(), 1.0
        for p in fields[1:]:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media in JSON_TYPES or media == "*/*":
            q_json = max(q_json, q)
        if media in HTML_TYPES:
            q_html = max(q_html, q)
    return q_json, q_html


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without this, a client reusing its connection
    # waits ~40 ms for each answer (Nagle against delayed ACKs)
    disable_nagle_algorithm = True
    root = "."
    log_path = None
    auth = None
    max_age = None

    form = "-"

    def do_GET(self):
        self.answer(send_body=True)

    def do_HEAD(self):
        self.answer(send_body=False)

    def reply(self, status, headers=(), body=b"", send_body=True):
        # Logged before answering, so a client that has its answer finds it in the log.
        with open(self.log_path, "a") as f:
            f.write(f"{self.command} {self.path} {status} {self.form}\n")
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def answer(self, send_body):
        self.form = "-"
        if self.auth is not None:
            given = self.headers.get("Authorization", "")
            if given != "Basic " + self.auth:
                self.reply(401, [("WWW-Authenticate", 'Basic realm="index"')], b"", send_body)
                return
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [p for p in posixpath.normpath(path).split("/") if p not in ("", ".", "..")]
        local = os.path.join(self.root, *parts)
        ctype = "application/octet-stream"
        if os.path.isdir(local):
            if not path.endswith("/"):
                self.reply(301, [("Location", path + "/")], b"", send_body)
                return
            q_json, q_html = accept_ranks(self.headers.get("Accept"))
            as_json = os.path.join(local, "index.json")
            if q_json > 0 and q_json >= q_html and os.path.isfile(as_json):
                local, form, ctype = as_json, "json", JSON
            else:
                local, form, ctype = os.path.join(local, "index.html"), "html", "text/html"
            self.form = form
        elif local.endswith(".html"):
            ctype = "text/html"
        if not os.path.isfile(local):
            self.reply(404, [("Content-Type", "text/plain")], b"not found\n", send_body)
            return
        with open(local, "rb") as f:
            body = f.read()
        mtime = os.stat(local).st_mtime
        etag = '"%s-%s"' % (hashlib.sha256(body).hexdigest()[:32], self.form)
        last_modified = email.utils.formatdate(mtime, usegmt=True)
        headers = [("ETag", etag), ("Last-Modified", last_modified), ("Vary", "Accept")]
        if self.max_age is not None:
            headers.append(("Cache-Control", f"max-age={self.max_age}"))
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        fresh = False
        if inm is not None:
            fresh = etag in [t.strip() for t in inm.split(",")]
        elif ims is not None:
            try:
                fresh = email.utils.parsedate_to_datetime(ims).timestamp() >= int(mtime)
            except (TypeError, ValueError):
                fresh = False
        if fresh:
            self.reply(304, headers, b"", send_body)
            return
        self.reply(200, [("Content-Type", ctype)] + headers, body, send_body)

    def log_message(self, format, *args):
        pass


def main():
    args = sys.argv[1:]
    root, log = args[0], args[1]
    auth = None
    if "--auth" in args:
        auth = base64.b64encode(args[args.index("--auth") + 1].encode()).decode()
    max_age = None
    if "--max-age" in args:
        max_age = int(args[args.index("--max-age") + 1])
    handler = type(
        "H", (Handler,), {"root": root, "log_path": log, "auth": auth, "max_age": max_age}
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout.write(f"{server.server_address[1]}\n")
    sys.stdout.flush()
    sys.stdin.read()
    server.shutdown()


main()
