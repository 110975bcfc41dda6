"""Link conditions of the test Hub (test/hub/hub_server.py): a per-connection
rate cap, a server that ignores Range, the Hub's 429 answers on resolve
requests, permanent wrong bytes for chosen files, and request counts. The
settings start from the command line and change at run time through
/_control/settings; /_control/reset brings back the command line's values.
Python 3 standard library only."""
import json
import math
import threading
import time

MAX_SLEEP = 30.0          # no single pacing sleep is longer
# The Hub's IETF draft headers (draft-ietf-httpapi-ratelimit-headers) on a 429
# of its "resolvers" quota; it sends no Retry-After.
RATELIMIT = '"resolvers";r=0;t=%d'
RATELIMIT_POLICY = '"fixed window";"resolvers";q=%d;w=%d'

# name: (type, command-line value when absent)
SETTINGS = {
    "rate_limit": (int, 0),              # bytes/s per TCP connection, 0: none
    "ignore_range": (bool, False),       # 200 and the whole body to a Range
    "wrong_bytes": (list, []),           # substrings of targets served XOR 0x5A
    "resolve_429_first": (int, 0),       # the first K resolve requests: 429
    "resolve_429_window": (float, 0.0),  # 429 for T s from the first resolve request
    "resolve_429_reset": (int, -1),      # t= of the 429s; -1: seconds left (window) or 20
    "resolve_quota": (int, 3000),        # q= of RateLimit-Policy
    "resolve_window": (int, 300),        # w= of RateLimit-Policy
    "advertise_port": (int, 0),          # port written in Link headers, 0: the hub's
    "advertise_cdn_port": (int, 0),      # port written in Location to the CDN, 0: the CDN's
}


def add_arguments(ap):
    ap.add_argument("--rate-limit", type=int, default=0, metavar="BPS",
                    help="cap every TCP connection's file bodies at BPS bytes/s (nginx limit_rate)")
    ap.add_argument("--ignore-range", action="store_true",
                    help="answer Range requests with 200 and the whole body (Accept-Ranges: none)")
    ap.add_argument("--wrong-bytes", action="append", default=[], metavar="MATCH",
                    help="serve every byte XOR 0x5A for targets containing MATCH (repeatable)")
    ap.add_argument("--resolve-429-first", type=int, default=0, metavar="K",
                    help="answer the first K resolve requests 429 with the Hub's RateLimit headers")
    ap.add_argument("--resolve-429-window", type=float, default=0.0, metavar="T",
                    help="answer every resolve request 429 for T seconds from the first one")
    ap.add_argument("--resolve-429-reset", type=int, default=-1, metavar="S",
                    help="the t= of those 429s (default: the window's seconds left, else 20)")
    ap.add_argument("--advertise-port", type=int, default=0,
                    help="port written in Link headers (a proxy in front of the hub)")
    ap.add_argument("--advertise-cdn-port", type=int, default=0,
                    help="port written in the Location of CDN redirects (a proxy in front of the CDN)")


def from_args(args):
    base = {k: (list(v) if isinstance(v, list) else v) for k, (_t, v) in SETTINGS.items()}
    for k in base:
        if getattr(args, k, None) is not None:
            base[k] = getattr(args, k)
    return validate(base, base)


def validate(current, changes):
    """current updated with changes (a JSON object); ValueError on a bad one."""
    if not isinstance(changes, dict):
        raise ValueError("expected a JSON object")
    out = dict(current)
    for k, v in changes.items():
        if k not in SETTINGS:
            raise ValueError("unknown setting %s" % k)
        kind = SETTINGS[k][0]
        if kind is list:
            if not isinstance(v, list) or not all(isinstance(s, str) and s for s in v):
                raise ValueError("%s: a list of non-empty strings" % k)
            out[k] = list(v)
        elif kind is bool:
            if not isinstance(v, bool):
                raise ValueError("%s: true or false" % k)
            out[k] = v
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError("%s: a number" % k)
            out[k] = kind(v)
            if out[k] < 0 and k != "resolve_429_reset":
                raise ValueError("%s: not negative" % k)
    return out


class Pacer:
    """Paces the bytes of one TCP connection at a rate: each connection gets
    the whole rate (N connections, N times the rate), and idle time between
    keep-alive requests earns no credit."""

    def __init__(self):
        self.due = 0.0

    def chunk(self, bps):
        return max(1, min(1 << 16, int(bps) // 20))  # about 20 sends a second

    def wait(self, nbytes, bps, stopping):
        """Sleeps until nbytes more keep the connection at bps; at most
        MAX_SLEEP, less when stopping is set."""
        now = time.monotonic()
        self.due = max(self.due, now) + nbytes / float(bps)
        deadline = min(self.due, now + MAX_SLEEP)
        for _ in range(int(MAX_SLEEP / 0.05) + 2):
            left = deadline - time.monotonic()
            if left <= 0 or stopping.is_set():
                return
            stopping.wait(min(left, 0.05))


class Links:
    """Settings, the resolve 429 state and the request counts; one lock."""

    def __init__(self, base):
        self.lock = threading.Lock()
        self.base = base
        self.epoch = time.monotonic()
        self.reset()

    def now(self):
        return round(time.monotonic() - self.epoch, 3)

    def reset(self):
        with self.lock:
            self.settings = dict(self.base)
            self._clear()

    def _clear(self):
        self.resolves = 0
        self.window_start = None
        self.stats = {"requests": 0, "resolve_requests": 0, "limited": 0, "by_path": {}, "by_client": {},
                      "by_peer": {}, "by_status": {}, "first": None, "last": None}

    def update(self, changes):
        """Applies a JSON object of settings; the counts and the window start over."""
        with self.lock:
            self.settings = validate(self.settings, changes)
            self._clear()
            return dict(self.settings)

    def get(self, name):
        with self.lock:
            return self.settings[name]

    def wrong_bytes(self, target):
        with self.lock:
            return any(m in target for m in self.settings["wrong_bytes"])

    def count(self, path, peer, t):
        with self.lock:
            s = self.stats
            s["requests"] += 1
            bare = path.split("?", 1)[0]
            s["by_path"][bare] = s["by_path"].get(bare, 0) + 1
            s["by_client"][peer[0]] = s["by_client"].get(peer[0], 0) + 1
            key = "%s:%d" % (peer[0], peer[1])
            s["by_peer"][key] = s["by_peer"].get(key, 0) + 1
            s["first"] = t if s["first"] is None else s["first"]
            s["last"] = t
        return t

    def count_status(self, code):
        with self.lock:
            k = str(code)
            self.stats["by_status"][k] = self.stats["by_status"].get(k, 0) + 1

    def resolve_limit(self, now):
        """The RateLimit headers when this resolve request, counted at now (count()'s time), is over the
        limit, else None. The window starts at the logged time of its first request, so a client's
        log and the window compare exactly."""
        with self.lock:
            st, s = self.settings, self.stats
            s["resolve_requests"] += 1
            self.resolves += 1
            if self.window_start is None:
                self.window_start = now
            left = self.window_start + st["resolve_429_window"] - now
            in_window = st["resolve_429_window"] > 0 and left > 0
            if not (self.resolves <= st["resolve_429_first"] or in_window):
                return None
            s["limited"] += 1
            reset = st["resolve_429_reset"]
            if reset < 0:
                reset = max(1, math.ceil(left)) if in_window else 20
            return {"RateLimit": RATELIMIT % reset,
                    "RateLimit-Policy": RATELIMIT_POLICY % (st["resolve_quota"], st["resolve_window"])}

    def snapshot(self):
        with self.lock:
            out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.stats.items()}
            w = self.settings["resolve_429_window"]
            start = self.window_start
            out["window"] = {"start": start, "end": None if start is None or w <= 0 else round(start + w, 3)}
            out["now"] = round(time.monotonic() - self.epoch, 3)
            out["settings"] = dict(self.settings)
            return out


def control(h, raw):
    """The /_control endpoints of the hub listener; h is the request handler."""
    st = h.state
    if raw == "/_control/faults" and h.command == "POST":
        length = min(int(h.headers.get("Content-Length", "0") or 0), 1 << 20)
        rules = json.loads(h.rfile.read(length) or b"[]")
        if not isinstance(rules, list):
            h._error(400, "BadRequest", "expected a JSON list")
            return
        with st.lock:
            st.faults = [dict(r, used=0) for r in rules]
        h._json({"ok": True, "rules": len(rules)})
    elif raw == "/_control/reset" and h.command == "POST":
        with st.lock:
            st.faults = []
            st.log = []
        st.links.reset()
        h._json({"ok": True})
    elif raw == "/_control/log" and h.command == "GET":
        with st.lock:
            body = json.dumps(st.log).encode()
        h._send(200, body)
    elif raw == "/_control/stats" and h.command == "GET":
        h._json(st.links.snapshot())
    elif raw == "/_control/settings" and h.command == "GET":
        h._json(st.links.snapshot()["settings"])
    elif raw == "/_control/settings" and h.command == "POST":
        length = min(int(h.headers.get("Content-Length", "0") or 0), 1 << 20)
        try:
            h._json(st.links.update(json.loads(h.rfile.read(length) or b"{}")))
        except ValueError as e:
            h._error(400, "BadRequest", str(e))
    else:
        h._error(404, "EntryNotFound", "no such control endpoint")
