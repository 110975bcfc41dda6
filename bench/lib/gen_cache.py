#!/usr/bin/python3
"""Generates a huggingface_hub cache with deterministic pseudo-random content.

Layout as huggingface_hub writes it: <repo_folder>/refs/main (40-hex commit,
no newline), blobs/<sha256 or git-sha1>, snapshots/<commit>/<path> relative
symlinks. Besides the cache it writes, next to it:
  manifest.tsv  repo_type repo_id revision ref path blob size (one file a row)
  www/<repo_id>/resolve/<commit>/<path>  symlinks to the blobs, so a static
                web server serves the Hub's resolve URLs
Same parameters, same bytes: a stamp file lets bench/run reuse the output.

Usage: gen_cache.py small OUT REPOS FILES   |   gen_cache.py large OUT SIZE_MB,... [NAME]
(large: one repo bench-org/NAME, default large-model; another NAME gives other
URLs and content, so several large caches can share one web root)
"""
import hashlib
import os
import random
import subprocess
import sys

CHUNK = 8 << 20


def commit_of(name):
    return hashlib.sha1(("commit " + name).encode()).hexdigest()


def key_of(name):
    return hashlib.md5(name.encode()).hexdigest()


def write_blob(cache, folder, data_iter, git_style, size):
    """Streams content to a temp file while hashing, then renames it to its hash."""
    blobs = os.path.join(cache, folder, "blobs")
    os.makedirs(blobs, exist_ok=True)
    tmp = os.path.join(blobs, "gen.incomplete")
    h = hashlib.sha1(b"blob %d\0" % size) if git_style else hashlib.sha256()
    with open(tmp, "wb") as f:
        for chunk in data_iter:
            h.update(chunk)
            f.write(chunk)
    name = h.hexdigest()
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(blobs, name))
    return name


def link(cache, folder, commit, path, blob):
    snap = os.path.join(cache, folder, "snapshots", commit, path)
    os.makedirs(os.path.dirname(snap), exist_ok=True)
    depth = path.count("/")
    target = "../" * (2 + depth) + "blobs/" + blob
    if os.path.lexists(snap):
        os.unlink(snap)
    os.symlink(target, snap)


def www_link(out, cache, repo_id, commit, path, folder, blob):
    dst = os.path.join(out, "www", repo_id, "resolve", commit, path)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.lexists(dst):
        os.unlink(dst)
    os.symlink(os.path.join(cache, folder, "blobs", blob), dst)


def finish_repo(out, cache, repo_id, commit, files, rows):
    folder = "models--" + repo_id.replace("/", "--")
    os.makedirs(os.path.join(cache, folder, "refs"), exist_ok=True)
    for path, blob, size in files:
        link(cache, folder, commit, path, blob)
        www_link(out, cache, repo_id, commit, path, folder, blob)
        rows.append(("model", repo_id, commit, "main", path, blob, size))
    with open(os.path.join(cache, folder, "refs", "main"), "w") as f:
        f.write(commit)
    # The "main" URL resolves like the commit, as on the Hub.
    main = os.path.join(out, "www", repo_id, "resolve", "main")
    if not os.path.lexists(main):
        os.symlink(commit, main)


def small_sizes(rng, n):
    # Mostly small JSON/tokenizer-like files, log-uniform 100 B .. 256 KiB.
    return [int(100 * (2621.44 ** rng.random())) for _ in range(n)]


def gen_small(out, repos, files):
    cache = os.path.join(out, "cache")
    rows = []
    for r in range(repos):
        repo_id = "bench-org/small-%04d" % r
        folder = "models--" + repo_id.replace("/", "--")
        rng = random.Random(repo_id)
        commit = commit_of(repo_id)
        entries = []
        for i, size in enumerate(small_sizes(rng, files)):
            path = ("1_Pooling/config_%02d.json" % i) if i % 7 == 3 else ("file_%02d.bin" % i)
            data = rng.randbytes(size)
            # Small files are regular git files (sha1 names), larger ones LFS.
            blob = write_blob(cache, folder, [data], size < 16384, size)
            entries.append((path, blob, size))
        finish_repo(out, cache, repo_id, commit, entries, rows)
    return rows


def stream(name, size):
    """size bytes of AES-128-CTR keystream: fast and deterministic."""
    p = subprocess.Popen(
        ["openssl", "enc", "-aes-128-ctr", "-nosalt", "-K", key_of(name), "-iv", "0" * 32],
        stdin=open("/dev/zero", "rb"), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    left = size
    while left:
        chunk = p.stdout.read(min(CHUNK, left))
        if not chunk:
            raise SystemExit("openssl enc ended early")
        left -= len(chunk)
        yield chunk
    p.kill()
    p.wait()


def gen_large(out, sizes_mb, name="large-model"):
    cache = os.path.join(out, "cache")
    rows = []
    repo_id = "bench-org/" + name
    folder = "models--" + repo_id.replace("/", "--")
    commit = commit_of(repo_id + ",".join(map(str, sizes_mb)))
    entries = []
    n = len(sizes_mb)
    for i, mb in enumerate(sizes_mb):
        path = "model-%05d-of-%05d.safetensors" % (i + 1, n)
        size = mb << 20
        blob = write_blob(cache, folder, stream(repo_id + path, size), False, size)
        entries.append((path, blob, size))
    cfg = b'{"architectures": ["BenchModel"]}\n'
    entries.append(("config.json", write_blob(cache, folder, [cfg], True, len(cfg)), len(cfg)))
    finish_repo(out, cache, repo_id, commit, entries, rows)
    return rows


def main():
    kind, out = sys.argv[1], os.path.abspath(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    os.chmod(out, 0o755)
    if kind == "small":
        rows = gen_small(out, int(sys.argv[3]), int(sys.argv[4]))
    elif kind == "large":
        rows = gen_large(out, [int(x) for x in sys.argv[3].split(",")], *sys.argv[4:5])
    else:
        raise SystemExit(__doc__)
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        for row in rows:
            f.write("\t".join(map(str, row)) + "\n")
    for root, dirs, _ in os.walk(out):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)


if __name__ == "__main__":
    main()
