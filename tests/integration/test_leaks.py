"""Leak response: scan (write any text, read back the tokens it holds, never
a secret), revoke given a whole text (each token in it revoked, audited as
leaked), and prefixes: [tokens] prefix and previous_prefixes, so a change
of prefix orphans no token in use."""
import errno
import os
import subprocess

from conftest import audit_lines, err_of, mint, read, write, write_config

ALICE = 1000


def scan(d, text):
    """What scan answers for text, written and read on one open file."""
    fd = os.open(d.path("scan"), os.O_RDWR)
    try:
        data = text.encode() if isinstance(text, str) else text
        for i in range(0, len(data), 100000):  # several writes
            os.write(fd, data[i:i + 100000])
        out = b""
        while True:
            got = os.read(fd, 4096)
            if not got:
                break
            out += got
        return out.decode()
    finally:
        os.close(fd)


def test_scan_finds_every_token_in_a_text_and_says_where_and_what(fs):
    a1, s1 = mint(fs, "alice", "ci")
    a2, s2 = mint(fs, "alice", "old")
    a3, s3 = mint(fs, "alice", "off")
    assert write(fs.path("users/alice/tokens", str(a2), "revoked"), "1") == 0
    assert write(fs.path("users/alice/tokens", str(a3), "disabled"), "1") == 0
    fake = "glpat-" + "A" * 20
    text = ("2026-12-07 deploy ok\n"
            "  Authorization: Bearer %s\n"
            "curl -H 'PRIVATE-TOKEN: %s' https://x\n"
            "%s,%s\n"
            "glpat-short and gl and glpat-\n" % (s1, s2, fake, s3))
    out = scan(fs, text)
    lines = text.split("\n")

    def at(s, n):
        return "%d:%d" % (n, lines[n - 1].index(s) + 1)

    assert out.splitlines() == [
        "%s %d alice active users/alice/tokens/%d" % (at(s1, 2), a1, a1),
        "%s %d alice revoked users/alice/tokens/%d" % (at(s2, 3), a2, a2),
        "4:1 - - unknown -",
        "%s %d alice disabled users/alice/tokens/%d" % (at(s3, 4), a3, a3),
    ]
    for s in (s1, s2, s3):
        assert s not in out and s[6:16] not in out
    # a secret cut in two by write(2) is found whole
    pad = "x" * (100000 - 10) + " "
    out = scan(fs, pad + s1 + "\n")
    assert out == "1:%d %d alice active users/alice/tokens/%d\n" % (len(pad) + 1, a1, a1)
    assert scan(fs, "nothing here\n") == ""
    assert scan(fs, b"\x00\xff\xfe" + s1.encode() + b"\x00") .startswith("1:4 %d " % a1)


def test_scan_is_for_administrators_and_bounded(fs):
    mint(fs, "alice", "ci")
    assert write(fs.path("users/alice/uid"), "%d" % ALICE) == 0
    r = subprocess.run(["setpriv", "--reuid=%d" % ALICE, "--regid=%d" % ALICE,
                        "--clear-groups", "sh", "-c", "echo hi > scan"],
                       cwd=fs.mnt, capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    fd = os.open(fs.path("scan"), os.O_RDWR)
    try:
        os.write(fd, b"x" * (1 << 20))
        assert err_of(os.write, fd, b"x") == errno.EFBIG
    finally:
        os.close(fd)


def test_revoke_takes_a_whole_leaked_text(fs):
    a1, s1 = mint(fs, "alice", "ci")
    a2, s2 = mint(fs, "alice", "deploy")
    a3, s3 = mint(fs, "alice", "off")
    keep, _ = mint(fs, "alice", "keep")
    assert write(fs.path("users/alice/tokens", str(a3), "disabled"), "1") == 0
    log = "GET /api?private_token=%s\nerror: %s\n%s\nglpat-%s\n" % (
        s1, s2, s3, "B" * 20)
    r = subprocess.run(["sh", "-c", "cat > revoke"], cwd=fs.mnt, input=log.encode(),
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    for t in (a1, a2, a3):
        assert read(fs.path("users/alice/tokens", str(t), "revoked")) == b"1\n"
    assert read(fs.path("users/alice/tokens", str(keep), "revoked")) == b"0\n"
    leaked = [l for l in audit_lines(fs) if l["action"] == "token_revoke"]
    assert sorted(l["object"] for l in leaked) == \
        sorted("users/alice/tokens/%d" % t for t in (a1, a2, a3))
    assert {l.get("reason") for l in leaked} == {"leaked"}
    # the same text again changes nothing; a lone unknown secret still fails
    n = len(audit_lines(fs))
    r = subprocess.run(["sh", "-c", "cat > revoke"], cwd=fs.mnt, input=log.encode())
    assert r.returncode == 0 and len(audit_lines(fs)) == n
    assert write(fs.path("revoke"), "glpat-" + "C" * 20 + "\n") == errno.EKEYREJECTED


def test_a_previous_prefix_still_checks_identifies_revokes_and_scans(make_daemon):
    d = make_daemon("[tokens]\nprefix = corp-\n")
    t1, old = mint(d, "alice", "ci")
    assert old.startswith("corp-")
    d.stop()
    write_config(d.workdir, "[tokens]\nprefix = acme_\n"
                 "previous_prefixes = corp-, glpat-\n")
    d.start()
    t2, new = mint(d, "alice", "ci2")
    assert new.startswith("acme_") and len(new) == len("acme_") + 20
    assert write(d.path("auth/read_api"), old) == 0
    assert write(d.path("auth/read_api"), new) == 0
    fd = os.open(d.path("identify"), os.O_RDWR)
    try:
        os.write(fd, old.encode())
        assert os.read(fd, 100) == b"users/alice/tokens/%d\n" % t1
    finally:
        os.close(fd)
    out = scan(d, "a %s b %s\n" % (old, new))
    assert [l.split()[1] for l in out.splitlines()] == [str(t1), str(t2)]
    assert write(d.path("revoke"), old) == 0
    assert read(d.path("users/alice/tokens", str(t1), "revoked")) == b"1\n"
    d.stop()
    # forgotten: the old secrets are no longer even token-shaped
    write_config(d.workdir, "[tokens]\nprefix = acme_\n")
    d.start()
    assert write(d.path("auth/read_api"), new) == 0
    assert scan(d, old) == ""


def test_bad_prefixes_stop_the_daemon_with_the_key_named(make_daemon):
    for bad in ("previous_prefixes = a b c d e f g h i",
                "previous_prefixes = bad/one",
                "previous_prefixes = %s" % ("x" * 33)):
        d = make_daemon("[tokens]\n%s\n" % bad, start=False)
        assert d.start(expect_fail=True) != 0
        assert "patfs.ini:2: [tokens] previous_prefixes" in d.read_stderr()
        assert not os.path.ismount(d.mnt)
        open(d.stderr_path, "w").close()  # the error was expected
