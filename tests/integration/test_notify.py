"""Expiry notices at 60, 30 and 7 days and on the day, each once, with the
daemon's clock moved by libfaketime and restarts in between."""
import datetime
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import FAKETIME_LIB, audit_lines, mint, notice_run_ended, read, write

pytestmark = pytest.mark.skipif(not os.path.exists(FAKETIME_LIB),
                                reason="needs libfaketime")


def shifted(days):
    return {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "+%dd" % days,
            "FAKETIME_DONT_RESET": "1",
            "ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0"}


def day(delta):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return (d + datetime.timedelta(days=delta)).isoformat()


def notices(d):
    return [(l["object"], l["new"]) for l in audit_lines(d)
            if l["action"] == "token_notice"]


def settle(fn, want, limit=10.0):
    """The notice thread runs beside the mount: wait for what it does."""
    t0 = time.monotonic()
    while fn() != want and time.monotonic() - t0 < limit:
        time.sleep(0.05)
    return fn()


def restart_at(d, days):
    d.stop()
    d.env = shifted(days)
    d.start()


CONFIG = "[notify]\nhour_utc = 0\n"


@pytest.fixture
def box():
    """A directory the command (run as nobody) may write in: pytest's own
    are closed to other users."""
    path = tempfile.mkdtemp(prefix="patfs-notify-", dir="/tmp")
    os.chmod(path, 0o1777)
    yield pathlib.Path(path)
    shutil.rmtree(path)


def test_each_threshold_is_notified_once_across_restarts(make_daemon):
    d = make_daemon(CONFIG)
    tid, _ = mint(d, "alice", "ci")
    assert write(d.path("users/alice/tokens/ci/expires_at"), day(61)) == 0
    obj = "users/alice/tokens/%d" % tid
    notified = d.path("users/alice/tokens", str(tid), "notified")
    assert "notified" in os.listdir(d.path("users/alice/tokens", str(tid)))
    assert read(notified) == b""  # 61 days left: nothing yet
    want = []
    for shift, what in [(1, "60"), (31, "30"), (54, "7"), (61, "expired")]:
        restart_at(d, shift)
        want.append((obj, what))
        assert settle(lambda: notices(d), want) == want
        restart_at(d, shift)  # the same day again: nothing repeats
        notice_run_ended(d)
        assert notices(d) == want
    assert read(notified) == b"60\n30\n7\nexpired\n"
    assert os.stat(notified).st_size == len(b"60\n30\n7\nexpired\n")


def test_a_daemon_that_was_down_catches_up_once(make_daemon, box):
    log = box
    d = make_daemon(CONFIG + 'command = env > %s/n.$PATFS_TOKEN_ID;'
                    ' ls -l /proc/$$/fd > %s/fd.$PATFS_TOKEN_ID\n' % (log, log))
    tid, _ = mint(d, "alice", "ci")
    assert write(d.path("users/alice/tokens/ci/expires_at"), day(65)) == 0
    restart_at(d, 60)  # five days left: 60, 30 and 7 all passed meanwhile
    obj = "users/alice/tokens/%d" % tid
    assert settle(lambda: notices(d), [(obj, "7")]) == [(obj, "7")]
    env = dict(l.split("=", 1) for l in
               (log / ("n.%d" % tid)).read_text().splitlines())
    assert env["PATFS_EVENT"] == "expiring"
    assert env["PATFS_DAYS_LEFT"] == "5"
    assert env["PATFS_TOKEN_ID"] == str(tid)
    assert env["PATFS_TOKEN_PATH"] == obj
    assert env["PATFS_TOKEN_NAME"] == "ci"
    assert env["PATFS_OWNER"] == "alice"
    assert env["PATFS_OWNER_KIND"] == "human"
    assert env["PATFS_EXPIRES_AT"] == day(65)
    assert read(d.path(obj, "notified")) == b"60\n30\n7\n"
    # run as nobody, never root; nothing of the store or the daemon leaks
    assert (log / ("n.%d" % tid)).stat().st_uid == 65534
    assert "LD_PRELOAD" not in env and "ASAN_OPTIONS" not in env
    # no descriptor of the daemon's (the store, /dev/fuse, its logs): the
    # shell's are /dev/null and its own redirection
    fds = (log / ("fd.%d" % tid)).read_text()
    targets = {l.split(" -> ")[1] for l in fds.splitlines() if " -> " in l}
    assert targets == {"/dev/null", str(log / ("fd.%d" % tid))}, fds


def test_the_command_learns_the_project_and_no_secret(make_daemon, box):
    log = box
    d = make_daemon(CONFIG + "command = env > %s/n.$PATFS_TOKEN_ID\n" % log)
    os.mkdir(d.path("projects/web"))
    os.mkdir(d.path("projects/web/tokens/deploy"))
    secret = read(d.path("projects/web/tokens/deploy/token")).decode().strip()
    tid = int(os.listdir(d.path("projects/web/tokens"))[0])
    assert write(d.path("projects/web/tokens/deploy/expires_at"), day(3)) == 0
    restart_at(d, 0)
    obj = "projects/web/tokens/%d" % tid
    assert settle(lambda: notices(d), [(obj, "7")]) == [(obj, "7")]
    text = (log / ("n.%d" % tid)).read_text()
    env = dict(l.split("=", 1) for l in text.splitlines())
    assert env["PATFS_PROJECT"] == "web"
    assert env["PATFS_OWNER_KIND"] == "project_bot"
    assert env["PATFS_TOKEN_PATH"] == "projects/web/tokens/%d" % tid
    assert secret not in text and secret[6:] not in text


@pytest.mark.parametrize("command, why", [
    ("exit 3", "failed"),
    ("sleep 30", "timed out"),
])
def test_a_failing_command_is_tried_again_next_run(make_daemon, command, why):
    d = make_daemon(CONFIG + "timeout_s = 1\ncommand = %s\n" % command)
    tid, _ = mint(d, "alice", "ci")
    assert write(d.path("users/alice/tokens/ci/expires_at"), day(5)) == 0
    restart_at(d, 0)
    assert settle(lambda: why in d.read_stderr(), True)
    assert notices(d) == []
    assert read(d.path("users/alice/tokens", str(tid), "notified")) == b""
    open(d.stderr_path, "w").close()  # the warning was the point


def test_a_new_expiry_date_starts_the_notices_again(make_daemon):
    d = make_daemon(CONFIG)
    tid, _ = mint(d, "alice", "ci")
    assert write(d.path("users/alice/tokens/ci/expires_at"), day(20)) == 0
    restart_at(d, 0)
    p = d.path("users/alice/tokens", str(tid), "notified")
    assert settle(lambda: read(p), b"60\n30\n") == b"60\n30\n"
    assert write(d.path("users/alice/tokens/ci/expires_at"), day(100)) == 0
    assert read(p) == b""


def test_without_a_command_revoked_and_blocked_get_nothing(make_daemon):
    d = make_daemon(CONFIG)
    a, _ = mint(d, "alice", "a")
    b, _ = mint(d, "bob", "b")
    assert write(d.path("users/alice/tokens/a/revoked"), "1") == 0
    assert write(d.path("users/bob/blocked"), "1") == 0
    restart_at(d, 29)
    notice_run_ended(d)
    assert notices(d) == []


@pytest.mark.parametrize("text, needle", [
    ("[notify]\nhour_utc = 24\n", "[notify] hour_utc"),
    ("[notify]\nthresholds_days = 60,60\n", "[notify] thresholds_days"),
    ("[notify]\nthresholds_days = 0\n", "[notify] thresholds_days"),
    ("[notify]\nthresholds_days = soon\n", "[notify] thresholds_days"),
    ("[notify]\ncommand = true\nrun_as = no-such-user-here\n",
     "[notify] run_as: no such user"),
    ("[notify]\ntimeout_s = 0\n", "[notify] timeout_s"),
    ("[notify]\nbogus = 1\n", "[notify] bogus: unknown key"),
])
def test_bad_notify_config_stops_the_daemon(make_daemon, text, needle):
    d = make_daemon(text, start=False)
    assert d.start(expect_fail=True) != 0
    assert needle in d.read_stderr()
    open(d.stderr_path, "w").close()


def test_custom_thresholds(make_daemon):
    d = make_daemon(CONFIG + "thresholds_days = 14,1\n")
    tid, _ = mint(d, "alice", "ci")
    assert write(d.path("users/alice/tokens/ci/expires_at"), day(20)) == 0
    restart_at(d, 6)
    obj = "users/alice/tokens/%d" % tid
    assert settle(lambda: notices(d), [(obj, "14")]) == [(obj, "14")]
    restart_at(d, 19)
    assert settle(lambda: notices(d), [(obj, "14"), (obj, "1")]) == \
        [(obj, "14"), (obj, "1")]


# availability: a run that stops at once, and owners who cannot starve it ----

def mounted(d):
    with open("/proc/mounts") as f:
        return any(l.split()[1] == d.mnt for l in f)


def survivors(marker):
    r = subprocess.run(["pgrep", "-f", marker], capture_output=True)
    return r.stdout.split()


def test_sigterm_during_a_notice_run_ends_it_and_every_descendant(
        make_daemon, box):
    marker = "sleep 1237.%d" % os.getpid()
    d = make_daemon(CONFIG + "timeout_s = 30\ncommand = setsid %s & touch "
                    "%s/started.$PATFS_TOKEN_ID; sleep 30\n" % (marker, box))
    for i in range(5):
        mint(d, "alice", "t%d" % i)
        assert write(d.path("users/alice/tokens/t%d/expires_at" % i),
                     day(3)) == 0
    restart_at(d, 0)
    assert settle(lambda: len(list(box.glob("started.*"))), 1) == 1
    assert survivors(marker)  # the command and its escapee run
    t0 = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    while mounted(d) and time.monotonic() - t0 < 5:
        time.sleep(0.02)
    gone = time.monotonic() - t0
    assert not mounted(d) and gone < 2.0, gone
    assert d.proc.wait(timeout=5) == 0
    d.proc = None
    assert settle(lambda: survivors(marker), [], 2.0) == []
    assert len(list(box.glob("started.*"))) == 1  # no notice after the stop


def test_a_command_s_timeout_kills_what_it_left_behind(make_daemon, box):
    marker = "sleep 1238.%d" % os.getpid()
    d = make_daemon(CONFIG + "timeout_s = 1\ncommand = setsid %s & touch "
                    "%s/started; sleep 30\n" % (marker, box))
    mint(d, "alice", "ci")
    assert write(d.path("users/alice/tokens/ci/expires_at"), day(3)) == 0
    restart_at(d, 0)
    assert settle(lambda: "timed out" in d.read_stderr(), True)
    assert (box / "started").exists()
    assert settle(lambda: survivors(marker), [], 2.0) == []
    open(d.stderr_path, "w").close()  # the warning was the point


def test_one_owner_s_failing_notices_hold_back_nobody_s(make_daemon, box):
    """bob's tokens expire first and their notices fail (the receiver
    rejects their names); carol's, after them in the list, still go out,
    and bob's wait for the next run after a few failures, not 300."""
    d = make_daemon(CONFIG + "timeout_s = 5\ncommand = case "
                    "$PATFS_TOKEN_NAME in bad*) echo >> %s/failed; exit 1;; "
                    "esac\n" % box)
    for i in range(300):
        mint(d, "bob", "bad%d" % i)
    # bob's expire tomorrow, carol's the day after: after bob's in the list
    for name in os.listdir(d.path("users/bob/tokens")):
        assert write(d.path("users/bob/tokens", name, "expires_at"),
                     day(1)) == 0
    tid, _ = mint(d, "carol", "ci")
    assert write(d.path("users/carol/tokens/ci/expires_at"), day(2)) == 0
    restart_at(d, 0)
    obj = "users/carol/tokens/%d" % tid
    assert settle(lambda: notices(d), [(obj, "7")]) == [(obj, "7")]
    notice_run_ended(d)
    assert (box / "failed").read_text().count("\n") == 3
    open(d.stderr_path, "w").close()  # the warnings were the point
