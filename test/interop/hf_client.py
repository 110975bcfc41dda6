#!/usr/bin/python3
"""Runs the real Python huggingface_hub (vendored, ../shared/vendor) for the
interoperability tests: writes a cache the way PostgresML does, scans one,
loads every file of one offline.

    hf_client.py --vendor DIR --version V --workdir W COMMAND ...
      download --endpoint URL --cache DIR [--token T] [--allow P ...] [--ignore P ...] SPEC...
          SPEC is snapshot:TYPE:REPO_ID@REVISION (snapshot_download, with
          allow_patterns/ignore_patterns when given) or
          file:TYPE:REPO_ID@REVISION:PATH (hf_hub_download)
      scan --cache DIR
          scan_cache_dir as JSON: {version, warnings, repos: [{type, id,
          size_on_disk, nb_files, refs, revisions: [{commit, refs, files:
          [[path, size], ...]}]}]}
      load --cache DIR --scan SCAN.json
          with HF_HUB_OFFLINE=1: every revision of SCAN (a scan of the cache
          the files came from) by snapshot_download(local_files_only=True) at
          each of its refs and its commit, and every file by hf_hub_download;
          JSON: {version, files: {"TYPE:ID@REV:PATH": "SIZE SHA256"}, errors}

V is 1.28.0 or 0.27.1. The release's source is extracted from
DIR/huggingface_hub-V.tar.gz (1.28 with DIR/filelock-3.32.3.tar.gz) into
W/V once and imported from there; 0.27.1 runs on Debian's python3-filelock.
A missing vendor folder or tarball is exit status 2 with a message: the tests
that use this fail, they never skip. Loopback only: proxies are ignored.
"""
import argparse
import hashlib
import json
import os
import sys
import tarfile

FILELOCK = "filelock-3.32.3.tar.gz"


def die(msg, code=2):
    print("hf_client.py: " + msg, file=sys.stderr)
    sys.exit(code)


def import_hub(vendor, version, workdir, offline):
    tarballs = ["huggingface_hub-%s.tar.gz" % version]
    if not version.startswith("0."):
        tarballs.append(FILELOCK)
    for t in tarballs:
        if not os.path.isfile(os.path.join(vendor, t)):
            die("the vendored %s is missing (looked in %s; see ../shared/vendor/README.md)" % (t, vendor))
    root = os.path.join(workdir, version)
    src = os.path.join(root, "src")
    if not os.path.isdir(os.path.join(src, "huggingface_hub")):
        tmp = root + ".tmp%d" % os.getpid()
        os.makedirs(tmp)
        for t in tarballs:
            with tarfile.open(os.path.join(vendor, t)) as tf:
                tf.extractall(tmp)
        try:
            os.rename(tmp, root)
        except OSError:  # another process extracted it first
            pass
    # Settings the library reads once, at import time.
    env = os.environ
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "HF_TOKEN",
              "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        env.pop(k, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["HF_HOME"] = os.path.join(workdir, "hf_home")  # no token or config of the user running the test
    env["HF_HUB_DISABLE_TELEMETRY"] = "1"
    env["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    env["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
    env["HF_HUB_OFFLINE"] = "1" if offline else "0"
    sys.path.insert(0, src)
    import huggingface_hub
    if huggingface_hub.__version__ != version:
        die("imported huggingface_hub %s, wanted %s" % (huggingface_hub.__version__, version))
    if not os.path.realpath(huggingface_hub.__file__).startswith(os.path.realpath(src) + os.sep):
        die("huggingface_hub was imported from %s, not from the vendored copy" % huggingface_hub.__file__)
    return huggingface_hub


def parse_spec(spec):
    kind, rest = spec.split(":", 1)
    repo_type, rest = rest.split(":", 1)
    repo_id, rest = rest.split("@", 1)
    if kind == "snapshot":
        return kind, repo_type, repo_id, rest, None
    revision, path = rest.split(":", 1)
    return kind, repo_type, repo_id, revision, path


def download(hub, args):
    for spec in args.specs:
        kind, repo_type, repo_id, revision, path = parse_spec(spec)
        if kind == "snapshot":
            where = hub.snapshot_download(repo_id, repo_type=repo_type, revision=revision, cache_dir=args.cache,
                                          endpoint=args.endpoint, token=args.token, allow_patterns=args.allow,
                                          ignore_patterns=args.ignore)
        else:
            where = hub.hf_hub_download(repo_id, path, repo_type=repo_type, revision=revision, cache_dir=args.cache,
                                        endpoint=args.endpoint, token=args.token)
        print("%s -> %s" % (spec, os.path.relpath(where, args.cache)))
    return 0


def scan(hub, args):
    info = hub.scan_cache_dir(args.cache)
    repos = []
    for r in sorted(info.repos, key=lambda r: (r.repo_type, r.repo_id)):
        revisions = []
        for rev in sorted(r.revisions, key=lambda v: v.commit_hash):
            files = sorted([os.path.relpath(str(f.file_path), str(rev.snapshot_path)), f.size_on_disk]
                           for f in rev.files)
            revisions.append({"commit": rev.commit_hash, "refs": sorted(rev.refs), "files": files})
        repos.append({"type": r.repo_type, "id": r.repo_id, "size_on_disk": r.size_on_disk,
                      "nb_files": r.nb_files, "refs": sorted(r.refs), "revisions": revisions})
    json.dump({"version": hub.__version__, "warnings": [str(w) for w in info.warnings], "repos": repos},
              sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "%d %s" % (os.path.getsize(path), h.hexdigest())


def load(hub, args):
    with open(args.scan, encoding="utf-8") as f:
        source = json.load(f)
    files, errors = {}, []
    for r in source["repos"]:
        for rev in r["revisions"]:
            for revision in rev["refs"] + [rev["commit"]]:
                label = "%s:%s@%s" % (r["type"], r["id"], revision)
                try:
                    folder = hub.snapshot_download(r["id"], repo_type=r["type"], revision=revision,
                                                   cache_dir=args.cache, local_files_only=True)
                    for path, _size in rev["files"]:
                        files["snapshot %s:%s" % (label, path)] = digest(os.path.join(folder, path))
                except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the rest
                    errors.append("snapshot_download %s: %s: %s" % (label, type(e).__name__, e))
                for path, _size in rev["files"]:
                    try:
                        where = hub.hf_hub_download(r["id"], path, repo_type=r["type"], revision=revision,
                                                    cache_dir=args.cache, local_files_only=True)
                        files["file %s:%s" % (label, path)] = digest(where)
                    except Exception as e:  # noqa: BLE001
                        errors.append("hf_hub_download %s:%s: %s: %s" % (label, path, type(e).__name__, e))
    json.dump({"version": hub.__version__, "files": files, "errors": errors}, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vendor", required=True)
    ap.add_argument("--version", required=True, choices=("1.28.0", "0.27.1"))
    ap.add_argument("--workdir", required=True)
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("download")
    d.add_argument("--endpoint", required=True)
    d.add_argument("--cache", required=True)
    d.add_argument("--token")
    d.add_argument("--allow", action="append")
    d.add_argument("--ignore", action="append")
    d.add_argument("specs", nargs="+")
    s = sub.add_parser("scan")
    s.add_argument("--cache", required=True)
    lo = sub.add_parser("load")
    lo.add_argument("--cache", required=True)
    lo.add_argument("--scan", required=True)
    args = ap.parse_args(argv)
    if not os.path.isdir(args.vendor):
        die("no vendor folder at %s (the tests need ../shared/vendor beside the checkout)" % args.vendor)
    hub = import_hub(args.vendor, args.version, args.workdir, offline=args.command == "load")
    return {"download": download, "scan": scan, "load": load}[args.command](hub, args)


if __name__ == "__main__":
    sys.exit(main())
