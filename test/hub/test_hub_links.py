"""Tests of the test Hub's link conditions (test/hub/hub_links.py: rate cap
per connection, a server ignoring Range, the Hub's 429s, permanent wrong
bytes, request counts) and of bench/lib/latency_proxy.py. Run by
test_hub_server.py, which imports these classes (test/run's "hub" suite
runs that file only)."""
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.normpath(os.path.join(HERE, "..", "..", "bench", "lib", "latency_proxy.py"))
COMMIT = "c" * 40
BIG = os.urandom(300000)
BIG_BLOB = hashlib.sha256(BIG).hexdigest()
SMALL = b'{"hidden_size": 384, "layers": 6}'
SMALL_BLOB = hashlib.sha1(b"blob %d\0" % len(SMALL) + SMALL).hexdigest()
RESOLVE_BIG = "/org/links/resolve/main/model.safetensors"
RESOLVE_SMALL = "/org/links/resolve/main/config.json"


def make_cache(root):
    folder = os.path.join(root, "models--org--links")
    snap = os.path.join(folder, "snapshots", COMMIT)
    for d in ("blobs", "refs", snap):
        os.makedirs(os.path.join(folder, d), exist_ok=True)
    for blob, data, name in ((BIG_BLOB, BIG, "model.safetensors"), (SMALL_BLOB, SMALL, "config.json")):
        with open(os.path.join(folder, "blobs", blob), "wb") as f:
            f.write(data)
        os.symlink("../../blobs/" + blob, os.path.join(snap, name))
    with open(os.path.join(folder, "refs", "main"), "w") as f:
        f.write(COMMIT)


def start(cmd):
    """Starts a READY-printing server; (process, [ports]) within 20 s."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    line = proc.stdout.readline().split() if ready else []
    if not line or line[0] != "READY":
        proc.kill()
        proc.wait(5)
        raise AssertionError("%s did not start: %s" % (cmd[1], line))
    return proc, [int(p) for p in line[1:]]


def stop(proc):
    proc.terminate()
    rc = proc.wait(timeout=5)
    proc.stdout.close()
    return rc


def req(port, method, path, headers=None, body=None, conn=None):
    """(status, lower-case headers, body); on conn when given (keep-alive)."""
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        if conn is None:
            c.close()


def follow(port, path, headers=None):
    st, h, body = req(port, "GET", path, headers)
    if st == 302:
        u = urllib.parse.urlsplit(h["location"])
        return req(u.port, "GET", u.path + "?" + u.query, headers)
    return st, h, body


class Hub:
    def __init__(self, cache, *args):
        self.proc, ports = start([sys.executable, os.path.join(HERE, "hub_server.py"), "--cache", cache,
                                  "--port", "0"] + list(args))
        self.port, self.cdn_port = ports

    def post(self, path, obj):
        return req(self.port, "POST", path, {"Content-Type": "application/json"}, json.dumps(obj).encode())

    def settings(self, **changes):
        st, _, body = self.post("/_control/settings", changes)
        assert st == 200, body
        return json.loads(body)

    def stats(self):
        return json.loads(req(self.port, "GET", "/_stats")[2])

    def log(self):
        return json.loads(req(self.port, "GET", "/_control/log")[2])

    def cdn_path(self):
        """The CDN path of the big file (from the resolve redirect)."""
        h = req(self.port, "HEAD", RESOLVE_BIG)[1]
        u = urllib.parse.urlsplit(h["location"])
        return u.path + "?" + u.query


class LinkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        make_cache(cls.tmp.name)
        cls.hub = Hub(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        stop(cls.hub.proc)
        cls.tmp.cleanup()

    def setUp(self):
        self.assertEqual(self.hub.post("/_control/reset", [])[0], 200)

    def own_hub(self, *args):
        hub = Hub(self.tmp.name, *args)
        self.addCleanup(stop, hub.proc)
        return hub

    def test_rate_limit_is_per_connection(self):
        hub = self.own_hub("--rate-limit", "300000")
        cdn = hub.cdn_path()
        t0 = time.monotonic()
        st, _, body = req(hub.cdn_port, "GET", cdn)
        one = time.monotonic() - t0
        self.assertEqual((st, body), (200, BIG))
        self.assertGreaterEqual(one, 0.9, "300 kB at 300 kB/s on one connection")
        self.assertLess(one, 3.0)

        def part(i):  # three ranges of 100 kB, each on its own connection
            return req(hub.cdn_port, "GET", cdn, {"Range": "bytes=%d-%d" % (i * 100000, i * 100000 + 99999)})
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            parts = list(pool.map(part, range(3)))
        three = time.monotonic() - t0
        self.assertEqual([p[0] for p in parts], [206] * 3)
        self.assertEqual(b"".join(p[2] for p in parts), BIG)
        self.assertGreaterEqual(three, 0.3)
        self.assertLess(three, 0.8, "three connections get three times the rate")
        self.assertEqual(len(hub.stats()["by_peer"]), 5, "HEAD, one GET, three ranges: five connections")

    def test_keep_alive_ranges_under_a_cap_set_at_run_time(self):
        self.assertEqual(self.hub.settings(rate_limit=1000000)["rate_limit"], 1000000)
        cdn = self.hub.cdn_path()
        c = http.client.HTTPConnection("127.0.0.1", self.hub.cdn_port, timeout=20)
        try:
            st, h, body = req(0, "GET", cdn, {"Range": "bytes=0-99"}, conn=c)
            self.assertEqual((st, h["content-range"], body), (206, "bytes 0-99/300000", BIG[:100]))
            st, h, body = req(0, "GET", cdn, {"Range": "bytes=299900-"}, conn=c)
            self.assertEqual((st, h["content-range"], body), (206, "bytes 299900-299999/300000", BIG[299900:]))
            t0 = time.monotonic()
            st, h, body = req(0, "GET", cdn, conn=c)
            self.assertEqual((st, h["accept-ranges"], body), (200, "bytes", BIG))
            self.assertGreaterEqual(time.monotonic() - t0, 0.25, "300 kB at 1 MB/s")
            st, _, body = req(0, "HEAD", cdn, conn=c)
            self.assertEqual((st, body), (200, b""))
        finally:
            c.close()
        cdn_log = [e for e in self.hub.log() if e["listener"] == "cdn"]
        self.assertEqual(len(cdn_log), 4)
        self.assertEqual(len(set(e["client"] for e in cdn_log)), 1, "one TCP connection, kept alive")
        self.assertEqual([e["status"] for e in cdn_log], [206, 206, 200, 200])
        self.hub.post("/_control/reset", [])
        self.assertEqual(self.hub.settings()["rate_limit"], 0, "reset: the command line's value")

    def test_server_ignoring_range(self):
        hub = self.own_hub("--ignore-range")
        st, h, body = follow(hub.port, RESOLVE_BIG, {"Range": "bytes=1000-"})
        self.assertEqual((st, h["accept-ranges"], body), (200, "none", BIG))
        self.assertNotIn("content-range", h)
        st, _, body = req(hub.port, "GET", RESOLVE_SMALL, {"Range": "bytes=2-5"})
        self.assertEqual((st, body), (200, SMALL))
        # the same at run time, and back to ranges after a reset
        self.hub.settings(ignore_range=True)
        self.assertEqual(req(self.hub.port, "GET", RESOLVE_SMALL, {"Range": "bytes=2-5"})[:3:2], (200, SMALL))
        self.hub.post("/_control/reset", [])
        self.assertEqual(req(self.hub.port, "GET", RESOLVE_SMALL, {"Range": "bytes=2-5"})[:3:2], (206, SMALL[2:6]))

    def assert_hub_429(self, answer, reset):
        st, h, _ = answer
        self.assertEqual(st, 429)
        self.assertEqual(h["ratelimit"], '"resolvers";r=0;t=%d' % reset)
        self.assertEqual(h["ratelimit-policy"], '"fixed window";"resolvers";q=3000;w=300')
        self.assertNotIn("retry-after", h)

    def test_first_resolve_requests_answer_429(self):
        hub = self.own_hub("--resolve-429-first", "2")
        self.assertEqual(req(hub.port, "GET", "/api/models/org/links/revision/main")[0], 200, "not a resolve")
        self.assert_hub_429(req(hub.port, "HEAD", RESOLVE_BIG), 20)
        self.assert_hub_429(req(hub.port, "GET", RESOLVE_SMALL), 20)
        self.assertEqual(req(hub.port, "GET", RESOLVE_SMALL)[::2], (200, SMALL))
        self.assertEqual(req(hub.port, "HEAD", RESOLVE_BIG)[0], 302)
        s = hub.stats()
        self.assertEqual((s["requests"], s["resolve_requests"], s["limited"]), (5, 4, 2))
        self.assertEqual(s["by_status"], {"200": 2, "302": 1, "429": 2})
        self.assertEqual(s["by_path"][RESOLVE_SMALL], 2)
        self.assertEqual(s["by_client"], {"127.0.0.1": 5})
        self.assertEqual(len(s["by_peer"]), 5)

    def test_resolve_window_then_no_request_inside_it(self):
        self.hub.settings(resolve_429_window=0.8)
        first = req(self.hub.port, "GET", RESOLVE_SMALL)
        self.assert_hub_429(first, 1)
        self.assert_hub_429(req(self.hub.port, "GET", RESOLVE_SMALL), 1)
        # a client that honours t= waits it out, then gets the file
        time.sleep(int(re.search(r";t=(\d+)", first[1]["ratelimit"]).group(1)))
        self.assertEqual(req(self.hub.port, "GET", RESOLVE_SMALL)[::2], (200, SMALL))
        s = self.hub.stats()
        window = s["window"]
        self.assertAlmostEqual(window["end"] - window["start"], 0.8, places=2)
        times = [e["time"] for e in self.hub.log()]
        self.assertEqual(len(times), 3)
        self.assertEqual(len([t for t in times if window["start"] <= t < window["end"]]), 2)
        self.assertGreaterEqual(times[2], window["end"], "the retry came after the window")
        self.assertEqual((s["limited"], s["by_status"]), (2, {"429": 2, "200": 1}))

    def test_command_line_window_and_reset_and_settings(self):
        hub = self.own_hub("--resolve-429-window", "30", "--resolve-429-reset", "7", "--advertise-cdn-port", "1234")
        self.assert_hub_429(req(hub.port, "HEAD", RESOLVE_BIG), 7)
        self.assertEqual(json.loads(req(hub.port, "GET", "/_control/settings")[2])["resolve_429_window"], 30.0)
        self.assertEqual(hub.settings(resolve_429_window=0)["resolve_429_reset"], 7)
        st, h, _ = req(hub.port, "HEAD", RESOLVE_BIG)
        self.assertEqual(st, 302)
        self.assertEqual(urllib.parse.urlsplit(h["location"]).port, 1234, "a proxy's port")
        hub.post("/_control/reset", [])
        self.assert_hub_429(req(hub.port, "HEAD", RESOLVE_BIG), 7)
        for bad in ({"rate_limit": -1}, {"nope": 1}, {"ignore_range": 1}, {"wrong_bytes": "x"}, []):
            self.assertEqual(hub.post("/_control/settings", bad)[0], 400, bad)
        self.assertEqual(req(hub.port, "POST", "/_control/settings", body=b"{")[0], 400)

    def test_permanent_wrong_bytes(self):
        hub = self.own_hub("--wrong-bytes", "model.safetensors")
        st, h, _ = req(hub.port, "HEAD", RESOLVE_BIG)
        self.assertEqual((h["x-linked-etag"], h["x-linked-size"]), ('"%s"' % BIG_BLOB, str(len(BIG))))
        bodies = [follow(hub.port, RESOLVE_BIG)[2] for _ in range(3)]
        self.assertEqual(len(bodies[0]), len(BIG))
        self.assertNotEqual(hashlib.sha256(bodies[0]).hexdigest(), BIG_BLOB)
        self.assertEqual(bodies[1:], bodies[:1] * 2, "every time the same wrong bytes")
        st, _, tail = follow(hub.port, RESOLVE_BIG, {"Range": "bytes=1000-"})
        self.assertEqual((st, tail), (206, bodies[0][1000:]), "a resume gets the same wrong bytes")
        self.assertEqual(req(hub.port, "GET", RESOLVE_SMALL)[2], SMALL, "other files stay right")
        # at run time: survives faults being replaced, ends with a reset
        self.hub.settings(wrong_bytes=["config.json"])
        self.hub.post("/_control/faults", [])
        body = req(self.hub.port, "GET", RESOLVE_SMALL)[2]
        self.assertEqual(len(body), len(SMALL))
        self.assertNotEqual(hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest(), SMALL_BLOB)
        self.hub.post("/_control/reset", [])
        self.assertEqual(req(self.hub.port, "GET", RESOLVE_SMALL)[2], SMALL)

    def test_stats_count_no_control_request(self):
        req(self.hub.port, "GET", "/_control/log")
        req(self.hub.port, "GET", "/_control/stats")
        self.assertEqual(self.hub.stats()["requests"], 0)
        follow(self.hub.port, RESOLVE_BIG)
        s = self.hub.stats()
        self.assertEqual(s["requests"], 2)
        self.assertEqual(s["by_path"], {RESOLVE_BIG: 1, "/cdn/models--org--links/" + BIG_BLOB: 1})
        self.assertEqual(s["window"], {"start": s["first"], "end": None})


class LatencyProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        make_cache(cls.tmp.name)
        cls.hub = Hub(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        stop(cls.hub.proc)
        cls.tmp.cleanup()

    def proxy(self, *args):
        proc, ports = start([sys.executable, PROXY, "--target", str(self.hub.port),
                             "--target", str(self.hub.cdn_port)] + list(args))
        self.addCleanup(lambda: proc.poll() is None and stop(proc))
        return proc, ports

    def test_delay_both_ways_with_the_cdn_behind_it(self):
        proc, (hub_port, cdn_port) = self.proxy("--delay-ms", "100")
        self.hub.settings(advertise_cdn_port=cdn_port)
        c = http.client.HTTPConnection("127.0.0.1", hub_port, timeout=20)
        try:
            for _ in range(2):  # the second request on the same, kept-alive connection
                t0 = time.monotonic()
                self.assertEqual(req(0, "GET", RESOLVE_SMALL, conn=c)[::2], (200, SMALL))
                self.assertGreaterEqual(time.monotonic() - t0, 0.2, "a round trip is two delays")
        finally:
            c.close()
        t0 = time.monotonic()
        st, _, body = follow(hub_port, RESOLVE_BIG)
        self.assertEqual((st, body), (200, BIG))
        self.assertGreaterEqual(time.monotonic() - t0, 0.4, "two round trips: hub, then CDN")
        self.assertEqual([e["listener"] for e in self.hub.log()][-2:], ["hub", "cdn"])
        self.hub.post("/_control/reset", [])
        self.assertEqual(stop(proc), 0)

    def test_rate_per_connection(self):
        _proc, (_hub_port, cdn_port) = self.proxy("--delay-ms", "0", "--rate", "300000")
        cdn = self.hub.cdn_path()
        t0 = time.monotonic()
        self.assertEqual(req(self.hub.cdn_port, "GET", cdn)[2], BIG)
        direct = time.monotonic() - t0
        t0 = time.monotonic()
        self.assertEqual(req(cdn_port, "GET", cdn)[::2], (200, BIG))
        self.assertGreaterEqual(time.monotonic() - t0, 0.9, "300 kB at 300 kB/s")
        self.assertLess(direct, 0.9, "without the proxy: no cap")

    def test_sigterm_ends_it_with_a_connection_open(self):
        proc, (hub_port, _cdn) = self.proxy("--delay-ms", "10")
        c = http.client.HTTPConnection("127.0.0.1", hub_port, timeout=20)
        try:
            self.assertEqual(req(0, "GET", RESOLVE_SMALL, conn=c)[0], 200)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=5), 0)
            self.assertLess(time.monotonic() - t0, 3.0)
            proc.stdout.close()
        finally:
            c.close()
        with self.assertRaises(OSError):
            req(hub_port, "GET", RESOLVE_SMALL)


if __name__ == "__main__":
    unittest.main()
