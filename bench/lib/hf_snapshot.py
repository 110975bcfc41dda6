#!/usr/bin/python3
"""Times huggingface_hub's own snapshot_download for bench/run item 11: the
real library (a release vendored in ../shared/vendor, imported the way the
interoperability tests do, test/interop/hf_client.py) downloading every repo
of a list at "main" into a fresh cache, one repo after another, with the
library's defaults (max_workers 8 within a repo). The import is done before
the clock starts: a server like PostgresML's imports it once.

Usage: hf_snapshot.py --vendor DIR --version V --workdir W --endpoint URL
                      --cache DIR --repos FILE      (one repo id a line)
Prints the seconds as the last line of stdout; exit 1 on any failure.
Loopback endpoints only.
"""
import argparse
import os
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "interop"))
import hf_client  # noqa: E402  (the tests' loader of the vendored releases)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vendor", required=True)
    ap.add_argument("--version", required=True, choices=("1.28.0", "0.27.1"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--repos", required=True)
    args = ap.parse_args(argv)
    if urllib.parse.urlsplit(args.endpoint).hostname not in ("127.0.0.1", "localhost"):
        ap.error("loopback endpoints only")
    with open(args.repos, encoding="utf-8") as f:
        repos = [line.strip() for line in f if line.strip()]
    hub = hf_client.import_hub(args.vendor, args.version, args.workdir, offline=False)
    t0 = time.monotonic()
    for repo in repos:
        hub.snapshot_download(repo, revision="main", cache_dir=args.cache, endpoint=args.endpoint)
    seconds = time.monotonic() - t0
    print("huggingface_hub %s: %d repos" % (hub.__version__, len(repos)), file=sys.stderr)
    print("%.6f" % seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
