"""unused/{30d,90d,365d}/: links to the active tokens not used in that many
days (never used: counted from creation), with the daemon's clock moved by
libfaketime."""
import datetime
import errno
import os
import subprocess

import pytest

from conftest import FAKETIME_LIB, err_of, mint, read, write

pytestmark = pytest.mark.skipif(not os.path.exists(FAKETIME_LIB),
                                reason="needs faketime")


def shifted(days):
    return {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "+%dd" % days,
            "FAKETIME_DONT_RESET": "1",
            "ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0"}


def long_lived(d, name):
    """A token that expires in 364 days: (id, secret)."""
    tid, _ = mint(d, "alice", name, take=False)
    tdir = d.path("users/alice/tokens", str(tid))
    day = datetime.date.today() + datetime.timedelta(days=364)
    assert write(os.path.join(tdir, "expires_at"), day.isoformat()) == 0
    return tid, read(os.path.join(tdir, "token")).decode().strip()


def listed(d, window):
    return sorted(int(n) for n in os.listdir(d.path("unused", window)))


def test_unused_lists_what_nobody_used_in_its_window(make_daemon):
    d = make_daemon()
    idle, _ = long_lived(d, "idle")
    busy, busy_secret = long_lived(d, "busy")
    short, _ = mint(d, "alice", "short")  # the default 30 days
    off, _ = long_lived(d, "off")
    gone, _ = long_lived(d, "gone")
    assert write(d.path("users/alice/tokens", str(off), "disabled"), "1") == 0
    assert write(d.path("users/alice/tokens", str(gone), "revoked"), "1") == 0
    assert sorted(os.listdir(d.path("unused"))) == ["30d", "365d", "90d"]
    assert listed(d, "30d") == []  # all made today
    d.stop()

    d.env = shifted(29)
    d.start()
    assert listed(d, "30d") == []
    d.stop()

    d.env = shifted(100)
    d.start()
    assert listed(d, "30d") == [idle, busy]  # short expired, off, gone
    assert listed(d, "90d") == [idle, busy]
    assert listed(d, "365d") == []
    metrics = read(d.path("metrics")).decode()
    for days, n in (("30", 2), ("90", 2), ("365", 0)):
        assert 'patfs_tokens_unused{days="%s"} %d\n' % (days, n) in metrics
    assert os.readlink(d.path("unused/90d", str(idle))) == \
        "../../users/alice/tokens/%d" % idle
    assert read(d.path("unused/90d", str(idle), "name")) == b"idle\n"
    out = subprocess.run(["find", "unused/30d", "-type", "l"], cwd=d.mnt,
                         capture_output=True, text=True, check=True).stdout
    assert sorted(out.split()) == ["unused/30d/%d" % idle, "unused/30d/%d" % busy]
    # a use takes a token out of every window at once
    assert write(d.path("auth/read_api"), busy_secret) == 0
    assert listed(d, "30d") == [idle]
    assert err_of(os.lstat, d.path("unused/30d", str(busy))) == errno.ENOENT
    assert err_of(os.lstat, d.path("unused/30d", str(short))) == errno.ENOENT
    assert err_of(os.lstat, d.path("unused/30d", "nope")) == errno.ENOENT
    assert err_of(os.lstat, d.path("unused/7d")) == errno.ENOENT
    # a re-enabled token is back
    assert write(d.path("users/alice/tokens", str(off), "disabled"), "0") == 0
    assert listed(d, "90d") == [idle, off]


def test_unused_is_for_administrators_and_read_only(fs):
    mint(fs, "alice", "ci")
    assert write(fs.path("users/alice/uid"), "1000") == 0
    r = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000",
                        "--clear-groups", "ls", "unused/30d"], cwd=fs.mnt,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert err_of(os.mkdir, fs.path("unused/30d/x")) == errno.EROFS
    assert err_of(os.rmdir, fs.path("unused/30d")) == errno.EROFS
    st = os.stat(fs.path("unused"))
    assert st.st_nlink == 5
