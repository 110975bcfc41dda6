#!/usr/bin/python3
"""A local stand-in for the HuggingFace Hub, for tests and demos only.

Serves the repos of a huggingface_hub cache folder over the Hub's resolve
protocol (HEAD/GET /{repo}/resolve/{rev}/{path}, 302 to a "CDN" listener for
LFS blobs, Range requests), the /api endpoints huggingface_hub's
snapshot_download and hf_hub_download call (repo info by revision, the tree
listing with LFS metadata and Link-header pages, paths-info), gated repos,
and faults injected at run time through /_control. No Xet: answers carry no
X-Xet-* header and tree entries no xetHash, so clients use plain HTTP.
Python 3 standard library only.

Usage: hub_server.py --cache DIR [--port 0] [--cdn-port 0]
                     [--gated REPO_ID ...] [--token TOKEN]
                     [--tree-page-size N]   (entries per tree page, default 1000)
                     [--tls-cert CERT.pem --tls-key KEY.pem]   (HTTPS)
                     [--rate-limit BPS]    (file bodies, per TCP connection)
                     [--ignore-range]      (200 + whole body, Accept-Ranges: none)
                     [--wrong-bytes MATCH ...]   (bodies XOR 0x5A, same length)
                     [--resolve-429-first K] [--resolve-429-window T]
                     [--resolve-429-reset S]   (429 + RateLimit headers)
                     [--advertise-port P] [--advertise-cdn-port P]   (a proxy's)
Prints "READY <port> <cdn_port>" once both listeners accept connections.
Link conditions (hub_links.py): the options above are the starting values of
the settings that GET/POST /_control/settings reads and changes at run time;
POST /_control/reset brings them back. GET /_stats (or /_control/stats):
request counts per path, client address and status, the 429 window.
"""
import argparse
import base64
import hashlib
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import hub_links  # noqa: E402  (beside this file)

HEX40 = re.compile(r"^[0-9a-f]{40}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
TYPES = {"model": "models", "dataset": "datasets", "space": "spaces"}
MAX_SLEEP = 30.0          # every injected sleep is bounded
CHUNK = 1 << 20


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Cache:
    """Read-only view of a huggingface_hub cache folder."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def repo_folder(self, repo_type, repo_id):
        return os.path.join(self.root, TYPES[repo_type] + "--" + repo_id.replace("/", "--"))

    def resolve_revision(self, folder, rev):
        """Returns the commit for a ref name or a commit, or None."""
        if HEX40.match(rev) and os.path.isdir(os.path.join(folder, "snapshots", rev)):
            return rev
        if ".." in rev.split("/") or rev.startswith("/") or "\0" in rev:
            return None
        ref = os.path.join(folder, "refs", rev)
        try:
            with open(ref, "r", encoding="ascii") as f:
                commit = f.read()
        except (OSError, UnicodeDecodeError):
            return None
        return commit if HEX40.match(commit) else None

    def file_info(self, folder, commit, path):
        """(blob, size, disk_path) of a file in a snapshot, or None."""
        parts = path.split("/")
        if not path or any(p in ("", ".", "..") for p in parts):
            return None
        disk = os.path.join(folder, "snapshots", commit, *parts)
        if not os.path.isfile(disk):
            return None
        if os.path.islink(disk):
            blob = os.path.basename(os.readlink(disk))
        else:  # no-symlink cache: the name is the git blob id of the content
            with open(disk, "rb") as f:
                blob = git_blob_sha1(f.read())
        return blob, os.path.getsize(disk), disk

    def list_files(self, folder, commit):
        base = os.path.join(folder, "snapshots", commit)
        out = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                rel = os.path.relpath(os.path.join(dirpath, name), base).replace(os.sep, "/")
                out.append(rel)
        return out


class State:
    def __init__(self, cache, gated, token, links=None):
        self.cache = cache
        self.links = links or hub_links.Links(hub_links.validate(
            {k: v for k, (_t, v) in hub_links.SETTINGS.items()}, {}))
        self.gated = set(gated)
        self.token = token
        self.lock = threading.Lock()
        self.faults = []        # list of dicts, each with a "used" counter
        self.log = []
        self.port = 0
        self.cdn_port = 0
        self.tree_page_size = 1000
        self.scheme = "http"
        self.stopping = threading.Event()

    def record(self, entry):
        with self.lock:
            if len(self.log) < 100000:
                self.log.append(entry)

    def take_fault(self, target, kinds):
        """The first matching rule of one of kinds that still has uses left."""
        with self.lock:
            for rule in self.faults:
                if rule.get("kind") not in kinds:
                    continue
                if rule.get("match", "") not in target:
                    continue
                times = int(rule.get("times", -1))
                if times >= 0 and rule["used"] >= times:
                    continue
                rule["used"] += 1
                return dict(rule)
        return None


def lfs_pointer(sha256, size):
    return ("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha256, size)).encode()


def truthy(query, name):
    """A boolean query parameter as clients send it: httpx "true", requests "True"."""
    return query.get(name, ["false"])[0].lower() in ("true", "1")


DATE = "2026-01-01T00:00:00.000Z"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pgml-test-hub/1"
    state: State = None
    listener = "hub"
    timeout = 120  # an idle keep-alive connection is closed after that long

    def setup(self):
        super().setup()
        self.pacer = hub_links.Pacer()  # one per TCP connection

    def send_response(self, code, message=None):
        super().send_response(code, message)
        entry = getattr(self, "_log_entry", None)
        if entry is not None and entry["status"] is None:
            self.state.links.count_status(code)
            with self.state.lock:
                entry["status"] = code

    def log_message(self, fmt, *args):  # quiet: the /_control/log is the log
        pass

    # ---- helpers -------------------------------------------------------
    def _target(self):
        return urllib.parse.unquote(self.path)

    def _record(self):
        self._log_entry = None
        self._arrival = self.state.links.now()
        if self.path.startswith("/_control/") or self.path.split("?", 1)[0] == "/_stats":
            return
        peer = self.client_address
        t = self.state.links.count(self.path, peer, self._arrival)
        self._log_entry = {
            "listener": self.listener,
            "method": self.command,
            "path": self.path,
            "range": self.headers.get("Range"),
            "auth": self.headers.get("Authorization") is not None,
            "host": self.headers.get("Host"),
            "client": "%s:%d" % (peer[0], peer[1]),
            "time": t,
            "status": None,
        }
        self.state.record(self._log_entry)

    def _send(self, code, body=b"", headers=None, ctype="application/json"):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if body is not None:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _error(self, code, error_code, message, headers=None):
        body = json.dumps({"error": message}).encode()
        self._send(code, body, dict(headers or {}, **{"X-Error-Code": error_code, "X-Error-Message": message}))

    def _json(self, obj, headers=None):
        self._send(200, json.dumps(obj).encode(), headers)

    def _authorized(self, repo_id):
        if repo_id not in self.state.gated:
            return True
        return self.headers.get("Authorization") == "Bearer " + (self.state.token or "\0")

    def _status_fault(self, target):
        rule = self.state.take_fault(target, ("status", "redirect_loop", "redirect_other_host"))
        if rule is None:
            return False
        kind = rule["kind"]
        if kind == "status":
            code = int(rule.get("code", 500))
            headers = {}
            if code in (429, 503):
                headers["Retry-After"] = str(rule.get("retry_after", 1))
            self._error(code, "InjectedFault", "injected status %d" % code, headers)
        elif kind == "redirect_loop":
            self._send(302, b"", {"Location": self.path}, "text/plain")
        else:  # redirect_other_host: same server, another host name
            port = self.state.cdn_port if self.listener == "cdn" else self.state.port
            self._send(302, b"", {"Location": "%s://localhost:%d%s" % (self.state.scheme, port, self.path)}, "text/plain")
        return True

    def _serve_body(self, disk, size, headers, target):
        """200 or 206 with the file's bytes, faults applied."""
        start, end = 0, size - 1
        rng = self.headers.get("Range")
        links = self.state.links
        no_ranges = links.get("ignore_range")
        if no_ranges:
            rng = None  # a server without range support
        if rng and self.state.take_fault(target, ("ignore_range",)):
            rng = None  # a server (or proxy) that answers 200 with the whole file
        code = 200
        if rng:
            m = re.match(r"^bytes=(\d+)-(\d*)$", rng.strip())
            if not m:
                self._error(416, "RangeNotSatisfiable", "bad range")
                return
            start = int(m.group(1))
            if size == 0:
                self._send(416, b"", dict(headers, **{"Content-Range": "bytes */0"}), "text/plain")
                return
            if m.group(2):
                end = min(int(m.group(2)), size - 1)
            if start >= size or start > end:
                self._send(416, b"", dict(headers, **{"Content-Range": "bytes */%d" % size}), "text/plain")
                return
            code = 206
            headers = dict(headers, **{"Content-Range": "bytes %d-%d/%d" % (start, end, size)})
        length = end - start + 1
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.send_header("Accept-Ranges", "none" if no_ranges else "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "HEAD" or length == 0:
            return
        drop = self.state.take_fault(target, ("drop_after",))
        wrong = self.state.take_fault(target, ("wrong_bytes",)) or links.wrong_bytes(target)
        stall = self.state.take_fault(target, ("stall",))
        throttle = self.state.take_fault(target, ("throttle",))
        bps = float(throttle.get("bps", 10 << 20)) if throttle else None
        cap = links.get("rate_limit")
        with open(disk, "rb") as f:
            if not (drop or wrong or stall or throttle or cap):
                self.wfile.flush()
                self.connection.sendfile(f, start, length)
                return
            f.seek(start)
            sent = 0
            limit = int(drop.get("n", 0)) if drop else None
            stall_at = int(stall.get("after", length // 2)) if stall else None
            while sent < length:
                want = min(self.pacer.chunk(cap) if cap else CHUNK, length - sent)
                if limit is not None:
                    want = min(want, limit - sent)
                if stall_at is not None and sent < stall_at:
                    want = min(want, stall_at - sent)
                if want > 0:
                    data = f.read(want)
                    if not data:
                        break
                    if wrong:
                        data = bytes((b ^ 0x5A) for b in data)
                    if cap:
                        self.pacer.wait(len(data), cap, self.state.stopping)
                        if self.state.stopping.is_set():
                            return
                    self.wfile.write(data)
                    sent += len(data)
                    if bps:
                        time.sleep(len(data) / bps)
                        if self.state.stopping.is_set():
                            return
                if limit is not None and sent >= limit:
                    self.wfile.flush()
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if stall_at is not None and sent >= stall_at:
                    self.wfile.flush()
                    deadline = time.monotonic() + min(float(stall.get("seconds", 5)), MAX_SLEEP)
                    while time.monotonic() < deadline and not self.state.stopping.is_set():
                        time.sleep(0.05)
                    stall_at = None

    # ---- routing -------------------------------------------------------
    def do_HEAD(self):
        self._dispatch()

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self):
        self._record()
        try:
            if self.listener == "cdn":
                self._cdn()
            else:
                self._hub()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _cdn(self):
        target = self._target()
        if self._status_fault(target):
            return
        m = re.match(r"^/cdn/([^/]+)/([0-9a-f]{64})(\?.*)?$", self.path)
        if not m or self.command not in ("GET", "HEAD"):
            self._error(404, "EntryNotFound", "no such blob")
            return
        disk = os.path.join(self.state.cache.root, m.group(1), "blobs", m.group(2))
        if not os.path.isfile(disk):
            self._error(404, "EntryNotFound", "no such blob")
            return
        self._serve_body(disk, os.path.getsize(disk), {"ETag": '"%s"' % m.group(2)}, target)

    def _hub(self):
        raw = self.path.split("?", 1)[0]
        if raw == "/_stats":
            raw = "/_control/stats"
        if raw.startswith("/_control/"):
            return self._control(raw)
        target = self._target()
        if self._status_fault(target):
            return
        m = re.match(r"^/api/(models|datasets|spaces)/(.+?)/(revision|tree|paths-info)/([^/]+)(/.*)?$", raw)
        if m:
            return self._api(m.group(1), m.group(2), m.group(3), m.group(4), m.group(5))
        m = re.match(r"^/api/(models|datasets|spaces)/([^/]+(?:/[^/]+)?)$", raw)
        if m and self.command == "GET":  # repo info without a revision: the default branch
            return self._api(m.group(1), m.group(2), "revision", "main", None)
        m = re.match(r"^/(?:(datasets|spaces)/)?(.+?)/resolve/([^/]+)/(.+)$", raw)
        if m and self.command in ("GET", "HEAD"):
            limited = self.state.links.resolve_limit(self._arrival)
            if limited:  # the Hub's 429: the draft headers, no Retry-After
                return self._send(429, json.dumps({"error": "rate limit of resolvers reached"}).encode(), limited)
            return self._resolve(m, target)
        self._error(404, "RepoNotFound", "no route")

    def _repo(self, type_plural, raw_repo, raw_rev):
        """(folder, repo_id, commit) or None after answering the error."""
        repo_type = {"models": "model", "datasets": "dataset", "spaces": "space"}[type_plural or "models"]
        repo_id = urllib.parse.unquote(raw_repo)
        folder = self.state.cache.repo_folder(repo_type, repo_id)
        if "--" in repo_id or ".." in repo_id or not os.path.isdir(folder):
            self._error(404, "RepoNotFound", "repository not found")
            return None
        if not self._authorized(repo_id):
            self._error(401, "GatedRepo", "access to this repository is restricted")
            return None
        commit = self.state.cache.resolve_revision(folder, urllib.parse.unquote(raw_rev))
        if commit is None:
            self._error(404, "RevisionNotFound", "revision not found")
            return None
        return folder, repo_id, commit

    def _resolve(self, m, target):
        repo = self._repo(m.group(1), m.group(2), m.group(3))
        if repo is None:
            return
        folder, _repo_id, commit = repo
        path = urllib.parse.unquote(m.group(4))
        info = self.state.cache.file_info(folder, commit, path)
        if info is None:
            self._error(404, "EntryNotFound", "entry not found")
            return
        blob, size, disk = info
        headers = {"X-Repo-Commit": commit, "ETag": '"%s"' % blob}
        if HEX64.match(blob):
            location = "%s://127.0.0.1:%d/cdn/%s/%s?file=%s" % (
                self.state.scheme, self.state.links.get("advertise_cdn_port") or self.state.cdn_port,
                os.path.basename(folder), blob, urllib.parse.quote(path, safe=""))
            headers.update({"X-Linked-Etag": '"%s"' % blob, "X-Linked-Size": size, "Location": location})
            self._send(302, b"", headers, "text/plain")
            return
        self._serve_body(disk, size, headers, target)

    def _entry(self, folder, commit, path, expand):
        blob, size, _disk = self.state.cache.file_info(folder, commit, path)
        entry = {"type": "file", "oid": blob, "size": size, "path": path}
        if HEX64.match(blob):
            pointer = lfs_pointer(blob, size)
            entry["oid"] = git_blob_sha1(pointer)
            entry["lfs"] = {"oid": blob, "size": size, "pointerSize": len(pointer)}
        if expand:
            entry["lastCommit"] = {"id": commit, "title": "test hub", "date": DATE}
            entry["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False, "virusNames": None},
                                           "pickleImportScan": None}
        return entry

    def _siblings(self, folder, commit, files, blobs):
        out = []
        for p in files:
            sib = {"rfilename": p}
            if blobs:  # ?blobs=true (files_metadata=True): size, blobId, lfs
                entry = self._entry(folder, commit, p, False)
                sib.update(size=entry["size"], blobId=entry["oid"])
                if "lfs" in entry:
                    lfs = entry["lfs"]
                    sib["lfs"] = {"size": lfs["size"], "sha256": lfs["oid"], "pointerSize": lfs["pointerSize"]}
            out.append(sib)
        return out

    def _repo_info(self, type_plural, repo_id, folder, commit, files, query):
        info = {"_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id,
                "author": repo_id.split("/")[0] if "/" in repo_id else None, "sha": commit,
                "lastModified": DATE, "createdAt": DATE, "private": False, "disabled": False,
                "gated": "auto" if repo_id in self.state.gated else False, "tags": [], "downloads": 0,
                "likes": 0, "siblings": self._siblings(folder, commit, files, truthy(query, "blobs"))}
        if type_plural == "models":
            info["modelId"] = repo_id
        return info

    def _tree(self, folder, commit, files, sub, query):
        """The Hub's tree listing of one folder (or all below it), in pages
        of tree_page_size with a Link header to the next one."""
        recursive, expand = truthy(query, "recursive"), truthy(query, "expand")
        if sub and not any(p.startswith(sub + "/") for p in files):
            self._error(404, "EntryNotFound", "%s does not exist on \"%s\"" % (sub, commit))
            return
        entries, dirs = [], set()
        for p in files:
            if sub and not p.startswith(sub + "/"):
                continue
            rest = p[len(sub) + 1:] if sub else p
            parts = rest.split("/")
            # folders are listed before their content, as the Hub does
            for i in range(1, len(parts) if recursive else min(len(parts), 2)):
                d = "/".join(([sub] if sub else []) + parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    entries.append({"type": "directory", "oid": hashlib.sha1(b"tree " + d.encode()).hexdigest(),
                                    "size": 0, "path": d})
            if len(parts) == 1 or recursive:
                entries.append(self._entry(folder, commit, p, expand))
        cursor = query.get("cursor", [""])[0]
        try:
            start = int(base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True) or b"0")
        except ValueError:
            self._error(400, "BadRequest", "invalid cursor")
            return
        size = max(1, self.state.tree_page_size)
        headers = {}
        if start + size < len(entries):
            nxt = dict((k, v[0]) for k, v in query.items())
            nxt["cursor"] = base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip("=")
            port = self.state.links.get("advertise_port") or self.state.port
            base = "%s://127.0.0.1:%d%s" % (self.state.scheme, port, self.path.split("?", 1)[0])
            headers["Link"] = '<%s?%s>; rel="next"' % (base, urllib.parse.urlencode(nxt))
        self._json(entries[start:start + size], headers)

    def _api(self, type_plural, raw_repo, kind, raw_rev, raw_sub):
        repo = self._repo(type_plural, raw_repo, raw_rev)
        if repo is None:
            return
        folder, repo_id, commit = repo
        files = self.state.cache.list_files(folder, commit)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if kind == "revision" and self.command == "GET":
            self._json(self._repo_info(type_plural, repo_id, folder, commit, files, query))
        elif kind == "tree" and self.command == "GET":
            self._tree(folder, commit, files, urllib.parse.unquote(raw_sub or "").strip("/"), query)
        elif kind == "paths-info" and self.command == "POST":
            length = min(int(self.headers.get("Content-Length", "0") or 0), 1 << 20)
            body = self.rfile.read(length).decode("utf-8", "replace")
            if "json" in (self.headers.get("Content-Type") or ""):
                doc = json.loads(body or "{}")
                paths, expand = doc.get("paths", []), bool(doc.get("expand"))
            else:
                form = urllib.parse.parse_qs(body)
                paths = form.get("paths", [])
                expand = form.get("expand", ["false"])[0].lower() in ("true", "1")
            out = [self._entry(folder, commit, p, expand) for p in paths
                   if self.state.cache.file_info(folder, commit, p) is not None]
            self._json(out)
        else:
            self._error(404, "EntryNotFound", "no route")

    def _control(self, raw):
        hub_links.control(self, raw)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def make_server(state, listener, port):
    handler = type("H_" + listener, (Handler,), {"state": state, "listener": listener})
    return Server(("127.0.0.1", port), handler)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cdn-port", type=int, default=0)
    ap.add_argument("--gated", action="append", default=[])
    ap.add_argument("--token")
    ap.add_argument("--tree-page-size", type=int, default=1000,
                    help="entries per page of the tree listing (the rest through Link: rel=next)")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM), both listeners")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    hub_links.add_arguments(ap)
    args = ap.parse_args(argv)
    if not os.path.isdir(args.cache):
        print("no such cache folder: %s" % args.cache, file=sys.stderr)
        return 2
    state = State(Cache(args.cache), args.gated, args.token, hub_links.Links(hub_links.from_args(args)))
    state.tree_page_size = args.tree_page_size
    hub = make_server(state, "hub", args.port)
    cdn = make_server(state, "cdn", args.cdn_port)
    state.port = hub.server_address[1]
    state.cdn_port = cdn.server_address[1]
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        for s in (hub, cdn):
            s.socket = ctx.wrap_socket(s.socket, server_side=True)
        state.scheme = "https"
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
               for s in (hub, cdn)]
    for t in threads:
        t.start()

    def stop(_sig, _frm):
        state.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY %d %d" % (state.port, state.cdn_port), flush=True)
    while not state.stopping.wait(0.2):
        pass
    for s in (hub, cdn):
        s.shutdown()
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
