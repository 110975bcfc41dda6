"""Self-test of the test Hub: /usr/bin/python3 test/hub/test_hub_server.py -v
(test/run's "hub" suite). Also runs the link conditions' and the latency
proxy's tests (test_hub_links.py), imported below."""
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from test_hub_links import LatencyProxyTest, LinkTest  # noqa: E402,F401  (counted by this file's unittest.main)

HERE = os.path.dirname(os.path.abspath(__file__))
VENDOR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "vendor"))  # ../shared/vendor
COMMIT = "a" * 40
COMMIT_PR = "b" * 40
LFS = os.urandom(300000)
LFS_BLOB = hashlib.sha256(LFS).hexdigest()
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (LFS_BLOB.encode(), len(LFS))
SMALL = b'{"hidden_size": 384}'
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
SMALL_BLOB = hashlib.sha1(b"blob %d\0" % len(SMALL) + SMALL).hexdigest()


def make_cache(root):
    folder = os.path.join(root, "models--org--model")
    os.makedirs(os.path.join(folder, "blobs"))
    os.makedirs(os.path.join(folder, "refs", "refs", "pr"))
    for blob, data in ((LFS_BLOB, LFS), (SMALL_BLOB, SMALL), (EMPTY_BLOB, b"")):
        with open(os.path.join(folder, "blobs", blob), "wb") as f:
            f.write(data)
    for commit in (COMMIT, COMMIT_PR):
        snap = os.path.join(folder, "snapshots", commit)
        os.makedirs(os.path.join(snap, "sub"))
        os.symlink("../../blobs/" + LFS_BLOB, os.path.join(snap, "model.safetensors"))
        os.symlink("../../../blobs/" + SMALL_BLOB, os.path.join(snap, "sub", "config.json"))
        os.symlink("../../blobs/" + EMPTY_BLOB, os.path.join(snap, "empty.txt"))
    with open(os.path.join(folder, "refs", "main"), "w") as f:
        f.write(COMMIT)
    with open(os.path.join(folder, "refs", "refs", "pr", "1"), "w") as f:
        f.write(COMMIT_PR)
    gated = os.path.join(root, "models--org--gated")
    os.makedirs(os.path.join(gated, "refs"))
    os.makedirs(os.path.join(gated, "blobs"))
    os.makedirs(os.path.join(gated, "snapshots", COMMIT))
    with open(os.path.join(gated, "blobs", SMALL_BLOB), "wb") as f:
        f.write(SMALL)
    os.symlink("../../blobs/" + SMALL_BLOB, os.path.join(gated, "snapshots", COMMIT, "config.json"))
    with open(os.path.join(gated, "refs", "main"), "w") as f:
        f.write(COMMIT)


class HubTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        make_cache(cls.tmp.name)
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "hub_server.py"), "--cache", cls.tmp.name,
             "--port", "0", "--gated", "org/gated", "--token", "secret", "--tree-page-size", "2"],
            stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline().split()
        assert line and line[0] == "READY", line
        cls.port, cls.cdn_port = int(line[1]), int(line[2])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=5)
        cls.proc.stdout.close()
        cls.tmp.cleanup()

    def setUp(self):
        self.post("/_control/reset", b"")

    def req(self, method, path, headers=None, body=None, port=None):
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            try:
                data = r.read()
            except http.client.IncompleteRead as e:
                data = e.partial
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        finally:
            c.close()

    def post(self, path, body):
        return self.req("POST", path, {"Content-Type": "application/json"}, body)

    def faults(self, rules):
        self.assertEqual(self.post("/_control/faults", json.dumps(rules).encode())[0], 200)

    def log(self):
        return json.loads(self.req("GET", "/_control/log")[2])

    def tree(self, path):
        """Every entry of a tree listing, following its Link: rel=next pages;
        also returns the number of pages."""
        entries, pages = [], 0
        while path and pages < 50:
            st, h, body = self.req("GET", path)
            self.assertEqual(st, 200, body)
            entries += json.loads(body)
            pages += 1
            m = re.match(r'^<([^>]+)>; rel="next"$', h.get("link", ""))
            path = None
            if m:
                u = urllib.parse.urlsplit(m.group(1))
                self.assertEqual(u.port, self.port)
                path = u.path + "?" + u.query
        return entries, pages

    def follow(self, path, headers=None):
        st, h, body = self.req("GET", path, headers)
        if st == 302:
            u = urllib.parse.urlsplit(h["location"])
            return self.req("GET", u.path + "?" + u.query, headers, port=u.port)
        return st, h, body

    def test_regular_file_headers(self):
        st, h, body = self.req("HEAD", "/org/model/resolve/main/sub/config.json")
        self.assertEqual(st, 200)
        self.assertEqual(h["x-repo-commit"], COMMIT)
        self.assertEqual(h["etag"], '"%s"' % SMALL_BLOB)
        self.assertEqual(h["content-length"], str(len(SMALL)))
        self.assertEqual(h["accept-ranges"], "bytes")
        self.assertEqual(body, b"")
        self.assertEqual(self.req("GET", "/org/model/resolve/main/sub/config.json")[2], SMALL)

    def test_lfs_redirect_and_cdn(self):
        st, h, _ = self.req("HEAD", "/org/model/resolve/refs%2Fpr%2F1/model.safetensors")
        self.assertEqual(st, 302)
        self.assertEqual(h["x-repo-commit"], COMMIT_PR)
        self.assertEqual(h["x-linked-etag"], '"%s"' % LFS_BLOB)
        self.assertEqual(h["x-linked-size"], str(len(LFS)))
        self.assertIn(":%d/" % self.cdn_port, h["location"])
        st, _, body = self.follow("/org/model/resolve/%s/model.safetensors" % COMMIT)
        self.assertEqual((st, body), (200, LFS))

    def test_empty_file(self):
        st, h, body = self.req("GET", "/org/model/resolve/main/empty.txt")
        self.assertEqual((st, h["content-length"], body), (200, "0", b""))
        self.assertEqual(h["etag"], '"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"')

    def test_range(self):
        st, h, body = self.follow("/org/model/resolve/main/model.safetensors", {"Range": "bytes=1000-"})
        self.assertEqual(st, 206)
        self.assertEqual(body, LFS[1000:])
        self.assertEqual(h["content-range"], "bytes 1000-%d/%d" % (len(LFS) - 1, len(LFS)))
        st, _, body = self.req("GET", "/org/model/resolve/main/sub/config.json", {"Range": "bytes=2-5"})
        self.assertEqual((st, body), (206, SMALL[2:6]))

    def test_not_found_codes(self):
        for path, code in (("/org/model/resolve/main/nope.bin", "EntryNotFound"),
                           ("/org/model/resolve/nobranch/config.json", "RevisionNotFound"),
                           ("/org/none/resolve/main/config.json", "RepoNotFound")):
            st, h, _ = self.req("HEAD", path)
            self.assertEqual((st, h["x-error-code"]), (404, code), path)

    def test_gated(self):
        path = "/org/gated/resolve/main/config.json"
        self.assertEqual(self.req("GET", path)[0], 401)
        self.assertEqual(self.req("GET", path, {"Authorization": "Bearer wrong"})[0], 401)
        st, _, body = self.req("GET", path, {"Authorization": "Bearer secret"})
        self.assertEqual((st, body), (200, SMALL))

    def test_cdn_records_auth(self):
        self.follow("/org/model/resolve/main/model.safetensors", {"Authorization": "Bearer x"})
        cdn = [e for e in self.log() if e["listener"] == "cdn"]
        self.assertEqual(len(cdn), 1)
        self.assertTrue(cdn[0]["auth"])  # this client forwarded it; libcurl must not

    def test_api(self):
        st, _, body = self.req("GET", "/api/models/org/model/revision/main")
        doc = json.loads(body)
        self.assertEqual(doc["sha"], COMMIT)
        self.assertEqual((doc["id"], doc["modelId"], doc["private"], doc["gated"]), ("org/model", "org/model", False, False))
        self.assertEqual(sorted(s["rfilename"] for s in doc["siblings"]), ["empty.txt", "model.safetensors", "sub/config.json"])
        self.assertNotIn("size", doc["siblings"][0])
        tree, _ = self.tree("/api/models/org/model/tree/%s?recursive=true" % COMMIT)
        by_path = {e["path"]: e for e in tree}
        self.assertEqual(by_path["model.safetensors"]["lfs"]["oid"], LFS_BLOB)
        self.assertEqual(by_path["sub/config.json"]["oid"], SMALL_BLOB)
        info = json.loads(self.post("/api/models/org/model/paths-info/main",
                                    json.dumps({"paths": ["sub/config.json"], "expand": True}).encode())[2])
        self.assertEqual(info[0]["oid"], SMALL_BLOB)
        self.assertEqual(info[0]["lastCommit"]["id"], COMMIT)
        self.assertEqual(info[0]["securityFileStatus"]["status"], "safe")
        self.assertIn("avScan", info[0]["securityFileStatus"])
        st, _, body = self.req("POST", "/api/models/org/model/paths-info/main",
                               {"Content-Type": "application/x-www-form-urlencoded"},
                               b"paths=model.safetensors&paths=missing")
        self.assertEqual([e["path"] for e in json.loads(body)], ["model.safetensors"])

    def test_repo_info(self):
        doc = json.loads(self.req("GET", "/api/models/org/model")[2])
        self.assertEqual(doc["sha"], COMMIT, "no revision: the default branch")
        doc = json.loads(self.req("GET", "/api/models/org/model/revision/refs%2Fpr%2F1?blobs=True")[2])
        self.assertEqual(doc["sha"], COMMIT_PR)
        sib = {s["rfilename"]: s for s in doc["siblings"]}
        self.assertEqual((sib["sub/config.json"]["size"], sib["sub/config.json"]["blobId"]), (len(SMALL), SMALL_BLOB))
        self.assertNotIn("lfs", sib["sub/config.json"])
        pointer = LFS_POINTER
        self.assertEqual(sib["model.safetensors"]["lfs"], {"size": len(LFS), "sha256": LFS_BLOB, "pointerSize": len(pointer)})
        self.assertEqual(sib["model.safetensors"]["blobId"], hashlib.sha1(b"blob %d\0" % len(pointer) + pointer).hexdigest())
        self.assertEqual(self.req("GET", "/api/models/org/gated/revision/main")[0], 401)
        doc = json.loads(self.req("GET", "/api/models/org/gated/revision/main", {"Authorization": "Bearer secret"})[2])
        self.assertEqual(doc["gated"], "auto")
        st, h, _ = self.req("GET", "/api/models/org/model/revision/nobranch")
        self.assertEqual((st, h["x-error-code"]), (404, "RevisionNotFound"))
        st, h, _ = self.req("GET", "/api/datasets/org/model/revision/main")
        self.assertEqual((st, h["x-error-code"]), (404, "RepoNotFound"), "a model is not a dataset")

    def test_tree_pages_and_lfs(self):
        # requests sends recursive=True, httpx recursive=true: both are honoured
        for flag in ("true", "True"):
            tree, pages = self.tree("/api/models/org/model/tree/main?recursive=%s&expand=False" % flag)
            self.assertEqual(pages, 2, "four entries in pages of two")
            self.assertEqual(sorted((e["type"], e["path"]) for e in tree),
                             [("directory", "sub"), ("file", "empty.txt"), ("file", "model.safetensors"),
                              ("file", "sub/config.json")])
        by_path = {e["path"]: e for e in tree}
        lfs = by_path["model.safetensors"]
        self.assertEqual(lfs["size"], len(LFS))
        self.assertEqual(lfs["lfs"], {"oid": LFS_BLOB, "size": len(LFS), "pointerSize": len(LFS_POINTER)})
        self.assertNotIn("xetHash", lfs)
        self.assertEqual((by_path["empty.txt"]["oid"], by_path["empty.txt"]["size"]), (EMPTY_BLOB, 0))
        self.assertNotIn("lastCommit", by_path["empty.txt"])
        top, _ = self.tree("/api/models/org/model/tree/main")
        self.assertEqual(sorted((e["type"], e["path"]) for e in top),
                         [("directory", "sub"), ("file", "empty.txt"), ("file", "model.safetensors")])
        sub, _ = self.tree("/api/models/org/model/tree/main/sub?expand=true")
        self.assertEqual([e["path"] for e in sub], ["sub/config.json"])
        self.assertEqual(sub[0]["lastCommit"]["id"], COMMIT)
        st, h, _ = self.req("GET", "/api/models/org/model/tree/main/nope")
        self.assertEqual((st, h["x-error-code"]), (404, "EntryNotFound"))
        self.assertEqual(self.req("GET", "/api/models/org/model/tree/main?cursor=%%%")[0], 400)

    def test_no_xet_headers(self):
        st, h, _ = self.req("HEAD", "/org/model/resolve/main/model.safetensors")
        self.assertEqual(st, 302)
        self.assertEqual([k for k in h if k.startswith("x-xet")], [])
        self.assertNotIn("link", h)

    def test_real_clients(self):
        """snapshot_download and hf_hub_download of the vendored
        huggingface_hub 1.28.0 and 0.27.1 (test/interop/hf_client.py) against
        this Hub: a missing vendor folder fails the test."""
        with tempfile.TemporaryDirectory() as work:
            for version in ("1.28.0", "0.27.1"):
                self.post("/_control/reset", b"")
                cache = os.path.join(work, "cache-" + version)
                run = subprocess.run(
                    ["/usr/bin/python3", os.path.join(HERE, "..", "interop", "hf_client.py"), "--vendor", VENDOR,
                     "--version", version, "--workdir", work, "download", "--endpoint", "http://127.0.0.1:%d" % self.port,
                     "--cache", cache, "snapshot:model:org/model@main", "snapshot:model:org/model@refs/pr/1",
                     "file:model:org/model@%s:sub/config.json" % COMMIT],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
                self.assertEqual(run.returncode, 0, run.stderr)
                folder = os.path.join(cache, "models--org--model")
                for commit in (COMMIT, COMMIT_PR):
                    for path, data in (("model.safetensors", LFS), ("sub/config.json", SMALL), ("empty.txt", b"")):
                        with open(os.path.join(folder, "snapshots", commit, path), "rb") as f:
                            self.assertEqual(f.read(), data, "%s %s %s" % (version, commit, path))
                with open(os.path.join(folder, "refs", "refs", "pr", "1")) as f:
                    self.assertEqual(f.read(), COMMIT_PR)
                self.assertEqual(sorted(os.listdir(os.path.join(folder, "blobs"))), sorted([LFS_BLOB, SMALL_BLOB, EMPTY_BLOB]))
                cdn = [e for e in self.log() if e["listener"] == "cdn"]
                self.assertEqual(len(cdn), 1, "the shared LFS blob is fetched once, from the CDN")
                if version == "1.28.0":
                    self.assertTrue(any("cursor=" in e["path"] for e in self.log()), "the tree's Link pages were followed")
                    self.assertEqual(sorted(os.listdir(os.path.join(folder, "trees"))), sorted([COMMIT + ".json", COMMIT_PR + ".json"]))

    def test_fault_drop_after(self):
        self.faults([{"match": "model.safetensors", "kind": "drop_after", "n": 5000, "times": 1}])
        st, _, body = self.follow("/org/model/resolve/main/model.safetensors")
        self.assertEqual(body, LFS[:5000])
        self.assertEqual(self.follow("/org/model/resolve/main/model.safetensors")[2], LFS)

    def test_fault_status(self):
        self.faults([{"match": "config.json", "kind": "status", "code": 429, "times": 2, "retry_after": 1}])
        path = "/org/model/resolve/main/sub/config.json"
        st, h, _ = self.req("GET", path)
        self.assertEqual((st, h["retry-after"]), (429, "1"))
        self.assertEqual(self.req("GET", path)[0], 429)
        self.assertEqual(self.req("GET", path)[0], 200)

    def test_fault_wrong_bytes(self):
        self.faults([{"match": "config.json", "kind": "wrong_bytes"}])
        st, _, body = self.req("GET", "/org/model/resolve/main/sub/config.json")
        self.assertEqual(len(body), len(SMALL))
        self.assertNotEqual(body, SMALL)

    def test_fault_stall(self):
        self.faults([{"match": "config.json", "kind": "stall", "seconds": 0.5, "after": 4}])
        t0 = time.monotonic()
        body = self.req("GET", "/org/model/resolve/main/sub/config.json")[2]
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)
        self.assertEqual(body, SMALL)

    def test_fault_redirects(self):
        self.faults([{"match": "config.json", "kind": "redirect_loop", "times": 1}])
        st, h, _ = self.req("GET", "/org/model/resolve/main/sub/config.json")
        self.assertEqual((st, h["location"]), (302, "/org/model/resolve/main/sub/config.json"))
        self.faults([{"match": "config.json", "kind": "redirect_other_host", "times": 1}])
        st, h, _ = self.req("GET", "/org/model/resolve/main/sub/config.json")
        self.assertEqual(st, 302)
        self.assertTrue(h["location"].startswith("http://localhost:%d/" % self.port))

    def test_log(self):
        self.req("GET", "/org/model/resolve/main/sub/config.json", {"Range": "bytes=3-"})
        entries = self.log()
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0]["range"], "bytes=3-")
        self.assertFalse(entries[0]["auth"])
        self.assertEqual(entries[0]["method"], "GET")


if __name__ == "__main__":
    unittest.main()
