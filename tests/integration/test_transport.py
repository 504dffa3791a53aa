"""Which of the kernel's transports serves the requests: /dev/fuse ("dev") or
FUSE over io_uring ("uring", Linux 6.14+ with enable_uring=Y). scripts/test
runs the whole suite once over each and says which in PATFS_TRANSPORT."""
import errno
import os
import threading

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
