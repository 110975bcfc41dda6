#!/usr/bin/python3
"""A TCP proxy on 127.0.0.1 that makes a loopback link look far: every byte
is forwarded a fixed one-way delay after it arrived, in both directions, and
optionally at most BPS bytes/s per connection and direction (this kernel has
no netem). Loopback only; Python 3 standard library only.

Usage: latency_proxy.py --target PORT [--target PORT ...] [--delay-ms 50]
                        [--rate BPS] [--idle-seconds 120] [--max-connections 256]
Listens on one free 127.0.0.1 port per --target (in that order) and prints
"READY <port> ..." once they accept. Stops on SIGTERM/SIGINT: the listeners
close, open connections are cut, exit 0 within about a second.

Bounds: every socket wait is 0.1 s and checks the stop flag; a connection
with no byte in either direction for --idle-seconds is closed; each direction
holds at most 256 chunks of 64 KiB in flight (so the throughput is at most
16 MiB per delay); at most --max-connections connections at once (more are
refused by closing them).
"""
import argparse
import collections
import signal
import socket
import sys
import threading
import time

TICK = 0.1
CHUNK = 1 << 16
IN_FLIGHT = 256


class Direction:
    """src -> dst, each chunk sent delay seconds after it was read."""

    def __init__(self, conn, src, dst):
        self.conn, self.src, self.dst = conn, src, dst
        self.queue = collections.deque()
        self.cond = threading.Condition()
        self.due = 0.0  # rate pacing

    def read_loop(self):
        c = self.conn
        while not c.over():
            with self.cond:
                full = len(self.queue) >= IN_FLIGHT
                if full:
                    self.cond.wait(TICK)
                    continue
            try:
                data = self.src.recv(CHUNK)
            except socket.timeout:
                continue
            except OSError:
                c.cut()
                return
            c.touch()
            with self.cond:
                self.queue.append((time.monotonic() + c.proxy.delay, data))  # b"": end of stream
                self.cond.notify_all()
            if not data:
                return

    def write_loop(self):
        c = self.conn
        while not c.over():
            with self.cond:
                if not self.queue:
                    self.cond.wait(TICK)
                    continue
                due, data = self.queue[0]
            left = due - time.monotonic()
            if left > 0:
                c.proxy.stopping.wait(min(left, TICK))
                continue
            with self.cond:
                self.queue.popleft()
                self.cond.notify_all()
            if not data:
                try:
                    self.dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                c.half_closed()
                return
            if not self.send(data):
                c.cut()
                return

    def send(self, data):
        """Sends all of data, paced when there is a rate (no credit for idle
        time); False on an error or a stop."""
        c, view = self.conn, memoryview(data)
        rate = c.proxy.rate
        while view and not c.over():
            if rate:
                wait = self.due - time.monotonic()
                if wait > 0:
                    c.proxy.stopping.wait(min(wait, TICK))
                    continue
            n = min(len(view), max(1, rate // 20)) if rate else len(view)
            try:
                sent = self.dst.send(view[:n])
            except socket.timeout:
                continue
            except OSError:
                return False
            if rate:
                self.due = max(self.due, time.monotonic()) + sent / rate
            view = view[sent:]
            c.touch()
        return not view


class Connection:
    def __init__(self, proxy, client, upstream):
        self.proxy, self.client, self.upstream = proxy, client, upstream
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.halves = 0
        self.last = time.monotonic()
        self.threads = []
        for s in (client, upstream):
            s.settimeout(TICK)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for d in (Direction(self, client, upstream), Direction(self, upstream, client)):
            self.threads += [threading.Thread(target=d.read_loop, daemon=True),
                             threading.Thread(target=d.write_loop, daemon=True)]

    def start(self):
        for t in self.threads:
            t.start()

    def touch(self):
        self.last = time.monotonic()

    def over(self):
        if self.closed.is_set() or self.proxy.stopping.is_set():
            return True
        if time.monotonic() - self.last > self.proxy.idle_seconds:
            self.cut()
            return True
        return False

    def half_closed(self):
        with self.lock:
            self.halves += 1
            both = self.halves == 2
        if both:
            self.cut()

    def cut(self):
        with self.lock:
            if self.closed.is_set():
                return
            self.closed.set()
        for s in (self.client, self.upstream):
            try:
                s.close()
            except OSError:
                pass
        self.proxy.forget(self)


class LatencyProxy:
    def __init__(self, targets, delay, rate=0, idle_seconds=120.0, max_connections=256, host="127.0.0.1"):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("loopback targets only")
        self.targets, self.delay, self.rate = list(targets), float(delay), int(rate)
        self.idle_seconds, self.max_connections, self.host = float(idle_seconds), int(max_connections), host
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.connections = set()
        self.listeners, self.threads, self.ports = [], [], []

    def start(self):
        for target in self.targets:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            s.settimeout(TICK)
            self.listeners.append(s)
            self.ports.append(s.getsockname()[1])
            t = threading.Thread(target=self.accept_loop, args=(s, target), daemon=True)
            self.threads.append(t)
            t.start()
        return self.ports

    def accept_loop(self, listener, target):
        while not self.stopping.is_set():
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                full = len(self.connections) >= self.max_connections
            try:
                if full:
                    raise OSError("too many connections")
                upstream = socket.create_connection((self.host, target), timeout=5)
            except OSError:
                client.close()
                continue
            c = Connection(self, client, upstream)
            with self.lock:
                self.connections.add(c)
            c.start()

    def forget(self, c):
        with self.lock:
            self.connections.discard(c)

    def stop(self):
        self.stopping.set()
        for s in self.listeners:
            s.close()
        with self.lock:
            conns = list(self.connections)
        for c in conns:
            c.cut()
        deadline = time.monotonic() + 2.0
        for t in self.threads + [t for c in conns for t in c.threads]:
            t.join(max(0.0, deadline - time.monotonic()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", type=int, action="append", required=True, help="a port on 127.0.0.1")
    ap.add_argument("--delay-ms", type=float, default=50.0, help="one-way delay, each direction")
    ap.add_argument("--rate", type=int, default=0, help="bytes/s per connection and direction, 0: none")
    ap.add_argument("--idle-seconds", type=float, default=120.0)
    ap.add_argument("--max-connections", type=int, default=256)
    args = ap.parse_args(argv)
    if args.delay_ms < 0 or args.rate < 0 or args.idle_seconds <= 0 or args.max_connections < 1:
        ap.error("negative delay or rate, or no idle time or connection allowed")
    proxy = LatencyProxy(args.target, args.delay_ms / 1000.0, args.rate, args.idle_seconds, args.max_connections)

    def stop(_sig, _frm):
        proxy.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ports = proxy.start()
    print("READY " + " ".join(str(p) for p in ports), flush=True)
    while not proxy.stopping.wait(0.2):
        pass
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
