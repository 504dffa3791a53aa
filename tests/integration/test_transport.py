"""Which of the kernel's transports serves the requests: /dev/fuse ("dev") or
FUSE over io_uring ("uring", Linux 6.14+ with enable_uring=Y). scripts/test
runs the whole suite once over each and says which in PATFS_TRANSPORT."""
import errno
import os
import subprocess
import threading
import time

import pytest

from conftest import read

URING_PARAM = "/sys/module/fuse/parameters/enable_uring"
TRANSPORT = os.environ.get("PATFS_TRANSPORT")


def uring_on():
    try:
        with open(URING_PARAM) as f:
            return f.read().strip() == "Y"
    except OSError:
        return False


def possible_cpus():
    with open("/sys/devices/system/cpu/possible") as f:
        text = f.read()
    return max(int(n) for part in text.strip().split(",")
               for n in part.split("-")) + 1


def threads(pid):
    """{tid: (name, context switches)} of the daemon's threads."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            name = open(base + "comm").read().strip()
            sw = 0
            for line in open(base + "status"):
                if line.startswith(("voluntary_ctxt_switches",
                                    "nonvoluntary_ctxt_switches")):
                    sw += int(line.split()[1])
        except OSError:
            continue
        out[int(tid)] = (name, sw)
    return out


def switches(before, after, ring):
    return sum(sw - before.get(tid, (None, 0))[1]
               for tid, (name, sw) in after.items()
               if (name == "patfs-ring") == ring)


def test_the_transport_scripts_test_asked_for(fs):
    if TRANSPORT is None:
        pytest.skip("run by scripts/test, which sets PATFS_TRANSPORT")
    assert uring_on() == (TRANSPORT == "uring")


def test_requests_go_where_the_kernel_sends_them(fs):
    os.statvfs(fs.mnt)  # INIT answered, rings registered
    pid = fs.proc.pid
    before = threads(pid)
    rings = [t for t, (name, _) in before.items() if name == "patfs-ring"]
    for _ in range(1000):  # statfs is never cached: 1000 requests
        os.statvfs(fs.mnt)
    after = threads(pid)
    if uring_on():
        assert len(rings) == 4 * possible_cpus()
        assert switches(before, after, ring=True) >= 500
        assert switches(before, after, ring=False) < 100
    else:
        assert rings == []
        assert switches(before, after, ring=False) >= 500


def test_a_secret_read_and_auth_over_any_transport(fs):
    """The largest replies and the requests that carry secrets, with
    several threads at once (the rings of both CPUs)."""
    tokens = fs.path("users", "alice", "tokens")
    os.makedirs(os.path.join(tokens, "t"))
    secret = read(os.path.join(tokens, "t", "token")).strip()
    assert len(secret) == len("glpat-") + 20
    names = ["n%03d" % i for i in range(300)]
    errors = []

    def mint(part):
        try:
            for n in part:
                os.mkdir(os.path.join(tokens, n))
        except OSError as e:
            errors.append(e)

    def check():
        try:
            for _ in range(300):
                fd = os.open(fs.path("auth", "read_api"), os.O_WRONLY)
                try:
                    os.write(fd, secret)
                finally:
                    os.close(fd)
        except OSError as e:
            errors.append(e)

    workers = [threading.Thread(target=mint, args=(names[i::2],)) for i in range(2)]
    workers += [threading.Thread(target=check) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    listing = os.listdir(tokens)  # 301 entries: a reply of several pages
    assert len(listing) == 301
    minted = {read(os.path.join(tokens, i, "name")).strip() for i in listing}
    assert minted == {n.encode() for n in names} | {b"t"}


def test_killing_the_daemon_leaves_no_hung_mount(make_daemon):
    d = make_daemon()
    os.makedirs(d.path("users", "bob", "tokens", "t"))
    pid = d.proc.pid
    d.proc.kill()
    d.proc.wait()
    with pytest.raises(OSError) as e:
        os.listdir(d.path("users"))
    # at once rather than a hang: ENOTCONN; over io_uring the kernel may end
    # a request it had queued with ECONNABORTED or ECANCELED
    assert e.value.errno in (errno.ENOTCONN, errno.ECONNABORTED, errno.ECANCELED)
    d.err.close()
    d.proc = None
    os.system("umount -l %s 2>/dev/null" % d.mnt)
    assert not os.path.exists("/proc/%d/status" % pid) or \
        "zombie" in open("/proc/%d/status" % pid).read()


DEAD = (errno.ENOTCONN, errno.ECONNABORTED, errno.ECANCELED)

# Reads a file from 4 threads until one fails or SECS (default 20) pass;
# prints the longest single read (s) and the errno each thread ended with
# (0: none).
LOAD = r"""
import os, sys, threading, time
path, out = sys.argv[1], []
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 20
def run():
    worst, err, end = 0.0, 0, time.monotonic() + secs
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            with open(path, "rb") as f:
                f.read()
        except OSError as e:
            err = e.errno
        worst = max(worst, time.monotonic() - t0)
        if err:
            break
    out.append((worst, err))
ts = [threading.Thread(target=run) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(max(w for w, _ in out), " ".join(str(e) for _, e in out))
"""


def fuse_mounts_besides(own):
    """FUSE mounts other than own: a system-wide switch must not be flipped
    under them."""
    with open("/proc/mounts") as f:
        rows = [l.split() for l in f]
    return [r[1] for r in rows if r[2].startswith("fuse") and
            r[2] != "fusectl" and r[1] not in own]


def set_uring(value):
    with open(URING_PARAM, "w") as f:
        f.write(value)


def flippable(mounts):
    if TRANSPORT != "uring" or not uring_on():
        pytest.skip("the io_uring pass of scripts/test flips the switch")
    if fuse_mounts_besides(mounts):
        pytest.skip("other FUSE mounts exist: the switch is left alone")


def clear_dead(d):
    """The daemon ended its connection: reap it, unmount what is left."""
    rc = d.proc.wait(timeout=10)
    d.err.close()
    d.proc = None
    subprocess.run(["umount", "-l", d.mnt], check=False)
    return rc


def test_switching_uring_off_under_load_ends_the_mount_at_once(make_daemon):
    d = make_daemon()
    flippable([d.mnt])
    os.makedirs(d.path("users", "bob", "tokens", "t"))
    load = subprocess.Popen(["/usr/bin/python3", "-c", LOAD,
                             d.path("users/bob/tokens/1/name")],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    set_uring("N")
    try:
        out = load.communicate(timeout=15)[0].split()
    finally:
        set_uring("Y")  # as scripts/test found it for this pass
    worst, errs = float(out[0]), [int(e) for e in out[1:]]
    assert all(e in DEAD for e in errs), errs  # every reader was answered
    assert worst < 2.0, worst  # and none waited
    assert clear_dead(d) == 1
    said = d.read_stderr()
    assert "the kernel refused a reply" in said and "ending the connection" in said
    open(d.stderr_path, "w").close()  # that error was the point


@pytest.mark.parametrize("delay", [0, 0.002, 0.01, 0.05])
def test_starting_while_uring_flips_hangs_nothing(make_daemon, delay):
    d = make_daemon(start=False)
    flippable([d.mnt])
    flip = threading.Timer(delay, set_uring, ["N"])
    flip.start()
    try:
        try:
            d.start()
        except RuntimeError:
            pass  # it ended its connection before the mount was seen
        r = subprocess.run(["/usr/bin/python3", "-c", LOAD,
                            d.path("audit.log"), "1"],
                           capture_output=True, text=True, timeout=30)
    finally:
        flip.join()
        set_uring("Y")
    out = r.stdout.split()
    # a second of reads: all answered by a live mount, or ended at once
    errs = [int(e) for e in out[1:]]
    assert len(errs) == 4 and all(e in DEAD + (0,) for e in errs), \
        (errs, r.stderr)
    assert float(out[0]) < 2.0
    if d.proc is not None and d.proc.poll() is not None:
        clear_dead(d)
    open(d.stderr_path, "w").close()  # warnings of queues are expected


@pytest.mark.parametrize("extra", [0, 8, 24, None])
def test_starting_with_few_file_descriptors_hangs_nothing(make_daemon, extra):
    """Just enough descriptors to start, too few for every ring: patfs
    starts the ring threads the limit leaves room for (none when not one a
    queue) and keeps what its /dev/fuse workers and their store connections
    need. Every request is answered, without an error."""
    cpus = possible_cpus()
    least = 24 + 4  # what one worker needs: patfs refuses less
    n = least + extra if extra is not None else least + 24 + 16 * 4 * cpus
    d = make_daemon(start=False, args=["-o", "max_threads=1"])
    flippable([d.mnt])
    d.start_cmd_prefix = ["prlimit", "--nofile=%d:%d" % (n, n)]
    d.start()
    os.statvfs(d.mnt)  # INIT answered: the ring threads that start, started
    rings = [t for t, (name, _) in threads(d.proc.pid).items()
             if name == "patfs-ring"]
    r = subprocess.run(["/usr/bin/python3", "-c", LOAD, d.path("audit.log"), "1"],
                       capture_output=True, text=True, timeout=30)
    out = r.stdout.split()
    assert [int(e) for e in out[1:]] == [0] * 4, r.stderr
    assert float(out[0]) < 2.0
    os.makedirs(d.path("users", "bob", "tokens", "t"))  # a write, too
    assert read(d.path("users/bob/tokens/t/name")) == b"t\n"
    if extra is None:
        assert len(rings) == 4 * cpus
    else:
        assert len(rings) == 0 or cpus <= len(rings) <= 4 * cpus
        if extra == 0 and cpus > 1:
            assert rings == []
    said = d.read_stderr()
    assert "error" not in said, said
    if len(rings) < 4 * cpus:
        assert "io_uring threads" in said
    open(d.stderr_path, "w").close()  # that warning is expected
