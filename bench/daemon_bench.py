#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""podwalld end-to-end benchmark (part of `make bench`, called by scripts/bench.sh).

One podwalld in a node netns of a small routed lab (pods a, b, c, each its
own netns with a veth into the node netns), policy directory with 100
policies and N pods (10, 1k, 10k; only a, b and c have veths, the others are
remote pods the compiler still has to handle).  podwalld is started once;
the pod count changes by rewriting the pod files (a reload).

  update   b's ingress policy file (lab-b.yaml) is rewritten (written to a
           temporary file, renamed into place) to allow a -> b UDP; a sends
           to b every ~50 us on one flow; the time from the rename to the
           first datagram b receives.  Then the file is rewritten to revoke
           it: the time to the last datagram b receives, and whether the
           established flow stays cut (nothing for 100 ms while a keeps
           sending).
  swap     a -> b allowed at a steady rate while another policy file is
           rewritten R times (each waits for podwalld's "policy applied");
           datagrams sent - received = lost.
  newpod   c's pod and its egress deny-all are in the directory; c sends to
           b (b allows c) while c's route is added in the node netns: the
           time from `ip route add` to the last datagram b receives from c
           (podwalld attaches on the route event).
  resources podwalld's RSS and CPU: idle, and during the swap storm.

Prints one JSON object per line (labels daemon_*) for bench/report.py.
Stage times (parse/merge/compile/apply) come from podwalld's log.
"""
import argparse
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL("libc.so.6", use_errno=True)


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def setns(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + path)
    finally:
        os.close(fd)


def sock_in(ns, bind=None):
    """A UDP socket created inside netns `ns` (a socket stays in the netns it was made in)."""
    setns("/run/netns/" + ns)
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        if bind:
            s.bind(bind)
    finally:
        _back()
    return s


ROOTNS = None


def _back():
    fd = ROOTNS
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns back")


def run(*cmd, check=True):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ---- the lab ---------------------------------------------------------------

class Lab:
    PODS = {"a": "10.99.0.1", "b": "10.99.0.2", "c": "10.99.0.3"}

    def __init__(self, tag):
        self.tag = tag
        self.node = tag + "n"
        self.nss = []

    def ns(self, name):
        return self.tag + name

    def up(self):
        run("ip", "netns", "add", self.node)
        self.nss.append(self.node)
        run("ip", "netns", "exec", self.node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        run("ip", "-n", self.node, "link", "set", "lo", "up")
        for p, ip in self.PODS.items():
            ns = self.ns(p)
            run("ip", "netns", "add", ns)
            self.nss.append(ns)
            run("ip", "-n", self.node, "link", "add", "h-" + p, "type", "veth", "peer", "name", "eth0",
                "netns", ns)
            run("ip", "-n", ns, "addr", "add", ip + "/32", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
            run("ip", "-n", ns, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
            run("ip", "-n", self.node, "addr", "add", "169.254.1.1/32", "dev", "h-" + p)
            run("ip", "-n", self.node, "link", "set", "h-" + p, "up")
            if p != "c":  # c's route is the new-pod event
                self.route(p)

    def route(self, p):
        run("ip", "-n", self.node, "route", "add", self.PODS[p] + "/32", "dev", "h-" + p)

    def down(self):
        for ns in reversed(self.nss):
            run("ip", "netns", "del", ns, check=False)


# ---- the policy directory ---------------------------------------------------

def gen_pods(n):
    """n deployment-shaped pods in 10 namespaces (50 apps, replicas share labels)."""
    docs = []
    for i in range(n):
        app = i % 50
        docs.append(
            "- apiVersion: v1\n  kind: Pod\n  metadata: {name: p%d, namespace: ns%d, labels: {app: app%d, tier: t%d}}\n"
            "  spec: {nodeName: other, containers: [{name: c, ports: [{name: http, containerPort: %d}]}]}\n"
            "  status: {phase: Running, podIP: 10.%d.%d.%d}\n"
            % (i, app % 10, app, app % 3, 8000 + app % 4, 100 + (i >> 16), (i >> 8) & 255, i & 255))
    return docs


def pol_yaml(i, variant=0):
    app = i % 50
    peer = ("{podSelector: {matchLabels: {app: app%d}}}" % ((app + 1) % 50) if i % 3
            else "{namespaceSelector: {matchLabels: {team: t%d}}, podSelector: {matchLabels: {tier: t%d}}}"
            % (i % 4, i % 3))
    extra = ""
    if i % 7 == 0:
        extra = "\n    - ipBlock: {cidr: 172.16.%d.0/24, except: [172.16.%d.128/25]}" % (i, i)
    port = 80 + (i % 5) + variant
    ports = "[{protocol: TCP, port: %d}, {port: http}]" % port if i % 2 else "[{protocol: UDP, port: %d, endPort: %d}]" % (port, port + 10)
    egress = ""
    if i % 4 == 0:
        egress = "\n  egress:\n  - to: [{podSelector: {matchLabels: {app: app%d}}}]\n    ports: [{port: 53, protocol: UDP}]" % ((app + 7) % 50)
    types = "[Ingress, Egress]" if egress else "[Ingress]"
    return ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: pol%d, namespace: ns%d}\n"
            "spec:\n  podSelector: {matchLabels: {app: app%d}}\n  policyTypes: %s\n  ingress:\n  - from:\n    - %s%s\n"
            "    ports: %s%s\n" % (i, app % 10, app, types, peer, extra, ports, egress))


LAB_PODS = """apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: lab, labels: {team: lab}}
""" + "".join(
    "- apiVersion: v1\n  kind: Pod\n  metadata: {name: %s, namespace: lab, labels: {app: %s}}\n"
    "  status: {phase: Running, podIP: %s}\n" % (p, p, ip) for p, ip in Lab.PODS.items())


def lab_b(allow_a):
    return ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: b-in, namespace: lab}\n"
            "spec:\n  podSelector: {matchLabels: {app: b}}\n  policyTypes: [Ingress]\n  ingress:\n"
            "  - from: [{podSelector: {matchLabels: {app: %s}}}, {podSelector: {matchLabels: {app: c}}}]\n"
            "    ports: [{protocol: UDP, port: 7000}]\n" % ("a" if allow_a else "nobody"))


LAB_C = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: c-out, namespace: lab}\n"
         "spec:\n  podSelector: {matchLabels: {app: c}}\n  policyTypes: [Egress]\n")


def write_atomic(d, name, text):
    tmp = os.path.join(d, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(d, name))


def write_pods(d, n):
    for f in os.listdir(d):
        if f.startswith("pods-"):
            os.unlink(os.path.join(d, f))
    docs = gen_pods(n)
    per = 500
    for k in range(0, max(len(docs), 1), per):
        chunk = docs[k:k + per]
        ns = "".join("- apiVersion: v1\n  kind: Namespace\n  metadata: {name: ns%d, labels: {team: t%d}}\n"
                     % (j, j % 4) for j in range(10)) if k == 0 else ""
        write_atomic(d, "pods-%03d.yaml" % (k // per), "apiVersion: v1\nkind: List\nitems:\n" + ns + "".join(chunk))


# ---- traffic ------------------------------------------------------------------

class Receiver(threading.Thread):
    """Records arrivals per source address on b's UDP socket."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.s = sock
        self.lock = threading.Lock()
        self.count = {}
        self.first = {}
        self.last = {}
        self.armed = {}
        self.ev = threading.Event()
        self.stop = False

    def arm(self, src):
        with self.lock:
            self.first.pop(src, None)
            self.armed[src] = True
            self.ev.clear()

    def run(self):
        self.s.settimeout(0.05)
        while not self.stop:
            try:
                _, (src, _) = self.s.recvfrom(64)
            except socket.timeout:
                continue
            t = now_ns()
            with self.lock:
                self.count[src] = self.count.get(src, 0) + 1
                self.last[src] = t
                if self.armed.get(src) and src not in self.first:
                    self.first[src] = t
                    self.ev.set()


class Sender(threading.Thread):
    def __init__(self, sock, dst, interval_s):
        super().__init__(daemon=True)
        self.s = sock
        self.dst = dst
        self.iv = interval_s
        self.sent = 0
        self.stop = False

    def run(self):
        msg = b"x" * 16
        while not self.stop:
            try:
                self.s.sendto(msg, self.dst)
                self.sent += 1
            except OSError:
                pass
            time.sleep(self.iv)


def pct(v, p):
    v = sorted(v)
    if not v:
        return None
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


# ---- podwalld ------------------------------------------------------------------

class Daemon:
    def __init__(self, exe, node, pdir, bpffs, sock, logpath):
        self.exe, self.node, self.pdir, self.bpffs, self.sock, self.logpath = exe, node, pdir, bpffs, sock, logpath
        self.p = None

    def start(self):
        self.logf = open(self.logpath, "w")
        self.p = subprocess.Popen(["nsenter", "--net=/run/netns/" + self.node, "--", self.exe,
                                   "--policy-dir", self.pdir, "--bpffs", self.bpffs, "--socket", self.sock, "--log-level", os.environ.get("PWLL","info")],
                                  stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError("podwalld exited: " + open(self.logpath).read()[-2000:])
            if self.applied() >= 1 and os.path.exists(self.sock):
                return
            time.sleep(0.05)
        raise RuntimeError("podwalld did not start in 60 s")

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def applied(self):
        # read only what was appended since the last call (the log grows)
        if not hasattr(self, "_rf"):
            self._rf = open(self.logpath)
            self._n = 0
            self._tail = ""
        chunk = self._rf.read()
        if chunk:
            txt = self._tail + chunk
            lines = txt.split("\n")
            self._tail = lines.pop()
            self._n += sum(1 for l in lines if "policy applied" in l)
        return self._n

    def wait_applied(self, n, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.applied() >= n:
                return True
            time.sleep(0.001)
        return False

    def wait_quiet(self, quiet_s=0.05, timeout=30.0):
        """Until no reload was applied for quiet_s (a reload in flight is done)."""
        deadline = time.time() + timeout
        n, since = self.applied(), time.time()
        while time.time() < deadline:
            time.sleep(0.005)
            m = self.applied()
            if m != n:
                n, since = m, time.time()
            elif time.time() - since >= quiet_s:
                return

    def pid(self):
        # nsenter execs podwalld (no fork without --target/--pid)
        return self.p.pid

    def cpu_ticks(self):
        with open("/proc/%d/stat" % self.pid()) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid()) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        subprocess.run(["nsenter", "--net=/run/netns/" + self.node, "--", self.exe, "--uninstall",
                        "--bpffs", self.bpffs, "--socket", self.sock, "--log-level", os.environ.get("PWLL","info")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


STAGE_RE = re.compile(r"parsed (\d+) of (\d+) files in ([\d.]+) ms \((\d+) removed\), merge ([\d.]+) ms, compile ([\d.]+) ms")
APPLY_RE = re.compile(r"dataplane apply ([\d.]+) ms \(discovery ([\d.]+), maps to epoch ([\d.]+), grace ([\d.]+), attach ([\d.]+)\)")


def stages_since(log, off):
    txt = log[off:]
    st = [m.groups() for m in STAGE_RE.finditer(txt)]
    ap = [tuple(float(x) for x in m.groups()) for m in APPLY_RE.finditer(txt)]
    return ([float(s[2]) for s in st], [float(s[4]) for s in st], [float(s[5]) for s in st], ap)


def main():
    global ROOTNS
    ap = argparse.ArgumentParser()
    ap.add_argument("--podwalld", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--sizes", default="10,1000,10000")
    ap.add_argument("--trials", type=int, default=0, help="per size (default: by size and --quick)")
    ap.add_argument("--reloads", type=int, default=0)
    ap.add_argument("--interval-us", type=int, default=100, help="probe datagram interval")
    a = ap.parse_args()
    ROOTNS = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    sys.setswitchinterval(0.0001)

    sizes = [int(x) for x in a.sizes.split(",")]
    trials = {10: 15, 1000: 20, 10000: 6} if a.quick else {10: 50, 1000: 100, 10000: 20}
    trials = {n: a.trials or trials.get(n, 20) for n in sizes}
    reloads = a.reloads or (100 if a.quick else 1000)
    out = []

    lab = Lab(a.tag)
    pdir = os.path.join(a.workdir, "policy")
    os.makedirs(pdir, exist_ok=True)
    bpffs = "/sys/fs/bpf/pwtest-" + a.tag
    sockp = os.path.join(os.path.abspath(a.workdir), "podwalld.sock")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    d = Daemon(a.podwalld, lab.node, pdir, bpffs, sockp, os.path.join(a.workdir, "podwalld.log"))
    threads = []
    try:
        lab.up()
        write_pods(pdir, sizes[0])
        write_atomic(pdir, "lab-pods.yaml", LAB_PODS)
        write_atomic(pdir, "lab-b.yaml", lab_b(False))
        write_atomic(pdir, "lab-c.yaml", LAB_C)
        for i in range(100):
            write_atomic(pdir, "pol-%03d.yaml" % i, pol_yaml(i))
        t0 = time.time()
        d.start()
        out.append({"label": "daemon_start", "start_s": time.time() - t0})
        print("daemon_bench: podwalld up in %.1f s" % (time.time() - t0), file=sys.stderr)

        # sockets: b listens; a and c send
        rb = sock_in(lab.ns("b"), ("10.99.0.2", 7000))
        sa = sock_in(lab.ns("a"), ("10.99.0.1", 40000))
        sa2 = sock_in(lab.ns("a"), ("10.99.0.1", 40001))
        sc = sock_in(lab.ns("c"), ("10.99.0.3", 40000))
        rx = Receiver(rb)
        rx.start()
        threads.append(rx)

        # idle resources
        time.sleep(0.5)
        c0, w0 = d.cpu_ticks(), time.time()
        time.sleep(2.0)
        hz = os.sysconf("SC_CLK_TCK")
        out.append({"label": "daemon_idle", "rss_kb": d.rss_kb(),
                    "cpu_pct": 100.0 * (d.cpu_ticks() - c0) / hz / (time.time() - w0)})

        # one datagram every ~0.1-0.2 ms (the measurement's resolution): more
        # would take CPU from podwalld on a 2-core machine
        tx = Sender(sa, ("10.99.0.2", 7000), a.interval_us / 1e6)
        tx.start()
        threads.append(tx)
        for n in sizes:
            if n != sizes[0]:
                k = d.applied()
                write_pods(pdir, n)
                if not d.wait_applied(k + 1, 60):
                    raise RuntimeError("podwalld did not apply %d pods" % n)
                d.wait_quiet(0.5)  # the pod files' burst may take more reloads
            lat, cut, cut_ok = [], [], 0
            logoff = len(d.log())
            for t in range(trials[n]):
                k = d.applied()
                rx.arm("10.99.0.1")
                ts = now_ns()
                write_atomic(pdir, "lab-b.yaml", lab_b(True))
                rx.ev.wait(5)
                got = rx.first.get("10.99.0.1")
                if got is None:
                    raise RuntimeError("update never enforced at %d pods" % n)
                lat.append((got - ts) / 1e6)
                d.wait_applied(k + 1)
                d.wait_quiet()
                # revoke: the established a -> b flow must stop at its next
                # packet after enforcement: wait (bounded) until nothing has
                # arrived for 100 ms, then check that nothing more comes for 200 ms
                ts = now_ns()
                write_atomic(pdir, "lab-b.yaml", lab_b(False))
                deadline = time.time() + 5
                while time.time() < deadline and now_ns() - rx.last.get("10.99.0.1", 0) < 100e6:
                    time.sleep(0.005)
                c1 = rx.count.get("10.99.0.1", 0)
                last = rx.last.get("10.99.0.1", 0)
                time.sleep(0.2)
                cut.append(max(0.0, (last - ts) / 1e6))
                if rx.count.get("10.99.0.1", 0) == c1 and time.time() < deadline:
                    cut_ok += 1
                d.wait_quiet()
            pa, me, co, apl = stages_since(d.log(), logoff)
            rec = {"label": "daemon_update_%d" % n, "pods": n, "policies": 100, "trials": len(lat),
                   "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": max(lat),
                   "revoke_p50_ms": pct(cut, 50), "revoke_p99_ms": pct(cut, 99),
                   "revoke_cut": cut_ok, "revoke_trials": len(cut),
                   "parse_ms_p50": pct(pa, 50), "merge_ms_p50": pct(me, 50),
                   "compile_ms_p50": pct(co, 50), "compile_ms_p99": pct(co, 99),
                   "apply_ms_p50": pct([x[0] for x in apl], 50),
                   "discovery_ms_p50": pct([x[1] for x in apl], 50),
                   "maps_to_epoch_ms_p50": pct([x[2] for x in apl], 50),
                   "maps_to_epoch_ms_p99": pct([x[2] for x in apl], 99),
                   "grace_ms_p50": pct([x[3] for x in apl], 50),
                   "attach_ms_p50": pct([x[4] for x in apl], 50)}
            out.append(rec)
            print("daemon_bench: %s" % json.dumps(rec), file=sys.stderr)
        tx.stop = True
        tx.join()

        # swap: reloads under steady allowed traffic, at the smallest size
        k = d.applied()
        write_pods(pdir, sizes[0])
        write_atomic(pdir, "lab-b.yaml", lab_b(True))
        d.wait_applied(k + 1, 60)
        time.sleep(0.3)
        with rx.lock:
            rx.count["10.99.0.1"] = 0
        tx2 = Sender(sa2, ("10.99.0.2", 7000), 0.0001)
        tx2.start()
        threads.append(tx2)
        time.sleep(0.2)
        c0, w0, rss_max, done = d.cpu_ticks(), time.time(), 0, 0
        for r in range(reloads):
            k = d.applied()
            write_atomic(pdir, "pol-000.yaml", pol_yaml(0, r % 2 + 1))
            if not d.wait_applied(k + 1, 5):
                break
            done += 1
            if r % 50 == 0:
                rss_max = max(rss_max, d.rss_kb())
        wall = time.time() - w0
        cpu = 100.0 * (d.cpu_ticks() - c0) / hz / wall
        time.sleep(0.2)
        tx2.stop = True
        tx2.join()
        time.sleep(0.3)
        sent, got = tx2.sent, rx.count.get("10.99.0.1", 0)
        out.append({"label": "daemon_swap", "reloads": done, "sent": sent, "received": got,
                    "lost": sent - got, "storm_s": wall, "reloads_per_s": done / wall})
        out.append({"label": "daemon_storm", "rss_kb": max(rss_max, d.rss_kb()), "cpu_pct": cpu})
        print("daemon_bench: %d reloads in %.1f s, sent %d received %d" % (done, wall, sent, got),
              file=sys.stderr)

        # new pod: c's route appears; c's egress deny-all must hold
        txc = Sender(sc, ("10.99.0.2", 7000), 0.00005)
        txc.start()
        threads.append(txc)
        time.sleep(0.2)
        before = rx.count.get("10.99.0.3", 0)
        ts = now_ns()
        lab.route("c")
        time.sleep(0.5)
        c1 = rx.count.get("10.99.0.3", 0)
        last = rx.last.get("10.99.0.3", 0)
        time.sleep(0.2)
        txc.stop = True
        txc.join()
        out.append({"label": "daemon_newpod", "passed_before": before,
                    "ms": (last - ts) / 1e6 if before else None,
                    "enforced": int(before > 0 and rx.count.get("10.99.0.3", 0) == c1)})
        rx.stop = True
    finally:
        for t in threads:
            t.stop = True
        d.stop()
        lab.down()
    for o in out:
        print(json.dumps(o))


if __name__ == "__main__":
    main()
