"""What expires when: expiring/within/{7d,30d,60d}/ and expiring.ics."""
import datetime
import errno
import os
import shutil
import subprocess

import icalendar
import pytest

from conftest import err_of, mint, read, requests, store_db, write

OWNER, OTHER = 1000, 1001


def day(delta):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return d + datetime.timedelta(days=delta)


def expire(d, user, tid, delta):
    assert write(d.path("users", user, "tokens", str(tid), "expires_at"),
                 day(delta).isoformat()) == 0


def run(d, uid, script):
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                        "--clear-groups", "bash", "-c", script], cwd=d.mnt,
                       capture_output=True)
    return r.returncode, r.stdout, r.stderr


def test_within_lists_the_active_tokens_of_each_window(fs):
    ids = {}
    for name, delta in [("d1", 1), ("d7", 7), ("d8", 8), ("d30", 30),
                        ("d31", 31), ("d60", 60), ("d61", 61)]:
        ids[name], _ = mint(fs, "alice", name)
    for name, delta in [("d1", 1), ("d7", 7), ("d8", 8), ("d30", 30),
                        ("d31", 31), ("d60", 60)]:
        expire(fs, "alice", ids[name], delta)
    assert write(fs.path("users/alice/tokens/d61/revoked"), "1") == 0
    bob, _ = mint(fs, "bob", "b")
    expire(fs, "bob", bob, 3)
    assert sorted(os.listdir(fs.path("expiring/within"))) == ["30d", "60d", "7d"]

    def listed(w):
        return sorted(int(x) for x in os.listdir(fs.path("expiring/within", w)))
    assert listed("7d") == sorted([ids["d1"], ids["d7"], bob])
    assert listed("30d") == sorted([ids["d1"], ids["d7"], ids["d8"],
                                    ids["d30"], bob])
    assert listed("60d") == sorted([ids["d1"], ids["d7"], ids["d8"], ids["d30"],
                                    ids["d31"], ids["d60"], bob])
    link = fs.path("expiring/within/7d", str(ids["d1"]))
    assert os.readlink(link) == "../../../users/alice/tokens/%d" % ids["d1"]
    assert read(link + "/name") == b"d1\n"
    # not in the window, revoked, or a blocked owner's: absent
    assert err_of(os.lstat, fs.path("expiring/within/7d", str(ids["d8"]))) == errno.ENOENT
    assert write(fs.path("users/bob/blocked"), "1") == 0
    assert bob not in listed("7d")
    assert err_of(os.lstat, fs.path("expiring/within/7d", str(bob))) == errno.ENOENT
    assert err_of(os.listdir, fs.path("expiring/within/8d")) == errno.ENOENT
    assert err_of(os.mkdir, fs.path("expiring/within/90d")) == errno.EROFS
    r = subprocess.run("find expiring/within -type l | wc -l", shell=True,
                       cwd=fs.mnt, capture_output=True, text=True)
    assert int(r.stdout) == 2 + 4 + 6


def test_within_lists_many_in_pieces(fs):
    """More links than one readdir reply holds: every one, once."""
    os.mkdir(fs.path("users/alice"))
    ids = []
    for i in range(300):
        os.mkdir(fs.path("users/alice/tokens/t%d" % i))
    ids = sorted(int(x) for x in os.listdir(fs.path("users/alice/tokens")))
    for n, tid in enumerate(ids):
        expire(fs, "alice", tid, 1 + n % 7)
    got = os.listdir(fs.path("expiring/within/7d"))
    assert len(got) == len(set(got)) == 300
    assert sorted(int(x) for x in got) == ids


def calendar(data):
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")
    for line in data.split(b"\r\n"):
        assert b"\n" not in line and len(line) <= 75, line
    return icalendar.Calendar.from_ical(data)


def test_expiring_ics_has_an_all_day_event_per_active_token(fs):
    a, _ = mint(fs, "alice", "deploy")
    b, _ = mint(fs, "alice", "old")
    c, _ = mint(fs, "bob", "x" * 200)      # folded at 75 octets
    d, _ = mint(fs, "bob", "\u00e9t\u00e9;,\\ \u2603" * 20)  # UTF-8, escaped
    expire(fs, "alice", a, 10)
    assert write(fs.path("users/alice/tokens", str(b), "revoked"), "1") == 0
    data = read(fs.path("expiring.ics"))
    assert os.stat(fs.path("expiring.ics")).st_size == len(data)
    cal = calendar(data)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert sorted(events) == sorted("patfs-token-%d" % t for t in (a, b, c, d))
    assert [str(e.get("STATUS")) for e in cal.walk("VEVENT")
            if str(e["UID"]) != "patfs-token-%d" % b] == ["None"] * 3
    ev = events["patfs-token-%d" % a]
    assert ev["DTSTART"].dt == day(10)
    assert ev["DTEND"].dt == day(11)
    assert str(ev["SUMMARY"]) == "Token deploy of alice expires"
    assert str(ev["DESCRIPTION"]) == "users/alice/tokens/%d" % a
    assert str(events["patfs-token-%d" % c]["SUMMARY"]) == \
        "Token %s of bob expires" % ("x" * 200)
    assert str(events["patfs-token-%d" % d]["SUMMARY"]) == \
        "Token %s of bob expires" % ("\u00e9t\u00e9;,\\ \u2603" * 20)
    # the same bytes twice: UIDs and stamps are stable
    assert read(fs.path("expiring.ics")) == data


def test_a_revoked_or_rotated_token_s_event_stays_cancelled_for_30_days(fs):
    """A client that imported an event (same UID) learns from STATUS:
    CANCELLED, with a higher SEQUENCE, that the token is gone; after 30 days
    the event goes."""
    os.mkdir(fs.path("users/alice"))
    assert write(fs.path("users/alice/uid"), "%d" % OWNER) == 0
    a, _ = mint(fs, "alice", "a")
    r, _ = mint(fs, "alice", "r")
    old, _ = mint(fs, "alice", "old")
    b, _ = mint(fs, "bob", "b")
    for t in (a, r, old):
        expire(fs, "alice", t, 20)
    before = {str(e["UID"]): e for e in calendar(read(fs.path("expiring.ics"))).walk("VEVENT")}
    assert "STATUS" not in before["patfs-token-%d" % r]
    assert write(fs.path("users/alice/tokens", str(r), "revoked"), "1") == 0
    assert write(fs.path("users/alice/tokens", str(a), "rotate"), "1") == 0
    assert write(fs.path("users/bob/tokens", str(b), "revoked"), "1") == 0
    rc, out, err = run(fs, OWNER, "cat expiring.ics")
    assert rc == 0, err
    events = {str(e["UID"]): e for e in calendar(out).walk("VEVENT")}
    succ = int(os.readlink(fs.path("users/alice/tokens", str(a), "next")).split("/")[-1])
    for t in (r, a):
        ev = events["patfs-token-%d" % t]
        assert str(ev["STATUS"]) == "CANCELLED" and int(ev["SEQUENCE"]) == 1
        assert ev["DTSTART"].dt == day(20)
        assert str(ev["SUMMARY"]).endswith("expires (revoked)")
    assert "STATUS" not in events["patfs-token-%d" % succ]
    assert "patfs-token-%d" % old in events  # still active: not revoked yet
    assert "patfs-token-%d" % b not in events  # bob's, cancelled or not
    admin = {str(e["UID"]) for e in calendar(read(fs.path("expiring.ics"))).walk("VEVENT")}
    assert "patfs-token-%d" % b in admin
    assert write(fs.path("users/alice/tokens", str(old), "revoked"), "1") == 0
    db = store_db(fs)
    db.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?",
               (int(datetime.datetime.now().timestamp()) - 31 * 86400, old))
    db.close()
    admin = {str(e["UID"]) for e in calendar(read(fs.path("expiring.ics"))).walk("VEVENT")}
    assert "patfs-token-%d" % old not in admin  # revoked 31 days ago: gone


KHAL_CONFIG = """[calendars]
[[tokens]]
path = %s
[locale]
timeformat = %%H:%%M
dateformat = %%Y-%%m-%%d
longdateformat = %%Y-%%m-%%d
datetimeformat = %%Y-%%m-%%d %%H:%%M
longdatetimeformat = %%Y-%%m-%%d %%H:%%M
"""


def test_khal_imports_a_revocation_as_a_cancellation(fs, tmp_path):
    if not shutil.which("khal"):
        pytest.skip("khal is not installed (scripts/deps installs it)")
    (tmp_path / "cal").mkdir()
    cfg = tmp_path / "khal.conf"
    cfg.write_text(KHAL_CONFIG % (tmp_path / "cal"))
    env = dict(os.environ, HOME=str(tmp_path), LANG="C.UTF-8")

    def khal(*args):
        r = subprocess.run(["khal", "-c", str(cfg)] + list(args), env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    t, _ = mint(fs, "alice", "deploy")
    expire(fs, "alice", t, 20)
    feed = tmp_path / "feed.ics"
    feed.write_bytes(read(fs.path("expiring.ics")))
    khal("import", "--batch", "-a", "tokens", str(feed))
    listed = khal("list", "today", "30d")
    assert "Token deploy of alice expires" in listed and "CANCELLED" not in listed
    assert write(fs.path("users/alice/tokens", str(t), "revoked"), "1") == 0
    feed.write_bytes(read(fs.path("expiring.ics")))
    khal("import", "--batch", "-a", "tokens", str(feed))
    listed = khal("list", "today", "30d")
    assert "CANCELLED" in listed and listed.count("Token deploy of alice") == 1


def test_expiring_ics_shows_others_only_their_own(fs):
    for user, uid in [("alice", OWNER), ("bob", OTHER)]:
        os.mkdir(fs.path("users", user))
        assert write(fs.path("users", user, "uid"), "%d" % uid) == 0
    a, _ = mint(fs, "alice", "a")
    imp, _ = mint(fs, "alice", "imp", take=False)
    assert write(fs.path("users/alice/tokens/imp/impersonation"), "1") == 0
    b, _ = mint(fs, "bob", "b")
    everything = calendar(read(fs.path("expiring.ics")))  # as admin first
    assert len(everything.walk("VEVENT")) == 3
    rc, out, err = run(fs, OWNER, "cat expiring.ics")
    assert rc == 0, err
    assert [str(e["UID"]) for e in calendar(out).walk("VEVENT")] == \
        ["patfs-token-%d" % a]
    rc, out, _ = run(fs, OWNER, "stat -c %s expiring.ics")
    assert int(out) == len(run(fs, OWNER, "cat expiring.ics")[1])
    rc, out, _ = run(fs, 4242, "cat expiring.ics")
    assert rc == 0 and calendar(out).walk("VEVENT") == []
    assert write(fs.path("expiring.ics"), "x") == errno.EPERM


def test_a_user_s_calendar_costs_what_the_user_holds(make_daemon):
    """expiring.ics of a mapped user reads that user's tokens, not the
    store's: 2,000 tokens of others do not make it dearer."""
    d = make_daemon(args=["-o", "debug_statements"])
    os.mkdir(d.path("users/alice"))
    assert write(d.path("users/alice/uid"), "%d" % OWNER) == 0
    for i in range(3):
        mint(d, "alice", "a%d" % i)
    os.mkdir(d.path("users/bob"))
    for i in range(2000):
        os.mkdir(d.path("users/bob/tokens/b%d" % i))
    since = len(d.read_stderr())
    rc, out, err = run(d, OWNER, "cat expiring.ics")
    assert rc == 0 and len(calendar(out).walk("VEVENT")) == 3, err
    rows = [r for op, kind, _, _, r in requests(d, since)
            if kind == "expiring.ics"]
    # GETATTR and OPEN render it, LOOKUP may: each reads alice's rows
    assert rows and max(rows) <= 3 + 2, rows
    since = len(d.read_stderr())
    assert len(calendar(read(d.path("expiring.ics"))).walk("VEVENT")) == 2003
