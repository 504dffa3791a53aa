"""The pages a newcomer and an administrator read: the man pages render
without a warning, and the README stays a newcomer's page."""
import errno
import os
import re
import subprocess

import pytest

from conftest import PATFS, ROOT, Daemon, mint, write

BUILD = os.path.dirname(PATFS)


def test_man_pages_render_cleanly():
    for page in ("patfs.8", "patfs.ini.5"):
        path = os.path.join(BUILD, page)
        assert os.path.exists(path), "meson builds %s from docs/" % page
        r = subprocess.run(["groff", "-t", "-ww", "-z", "-man", path],
                           capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
        r = subprocess.run(["man", "-l", path], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH="80", LANG="C.UTF-8"))
        assert r.returncode == 0 and "SEE ALSO" in r.stdout, page


def test_the_man_page_documents_every_option_and_errno():
    text = open(os.path.join(ROOT, "docs", "patfs.8.scd")).read()
    help_text = subprocess.run([PATFS, "--help"], capture_output=True,
                               text=True).stdout
    ours = help_text.split("patfs options:")[1].split("\n\n")[0]
    assert set(re.findall(r"-o (\w+)", ours)) == {"config", "debug_statements", "init",
                                                  "log_refusals"}
    for opt in re.findall(r"-o (\w+)", ours):
        assert "*-o %s" % opt in text, opt
    for errno_name in ("EINVAL", "EPERM", "EROFS", "EEXIST", "ENOTEMPTY",
                       "ENAMETOOLONG", "EKEYREVOKED", "EKEYEXPIRED",
                       "EKEYREJECTED", "EACCES", "EAGAIN", "ENOENT"):
        assert errno_name in text, errno_name


def test_readme_is_a_newcomers_page():
    text = open(os.path.join(ROOT, "README.md")).read()
    assert len(text.encode()) <= 9000
    assert text.index("scripts/mount") < text.index("scripts/test") < 1200
    for path in ("README.md", "docs/design.md", "docs/benchmarks.md",
                 "docs/patfs.8.scd", "docs/patfs.ini.5.scd"):
        body = open(os.path.join(ROOT, path)).read()
        assert not re.search(r"\bissue \d|this VM|\.\./shared", body), path


@pytest.mark.sqlite_only("the README's mount is on SQLite")
def test_the_readme_s_mount_leaves_the_checkout_clean(tmp_path):
    """scripts/mount runs patfs on ./mnt of the checkout with the embedded
    defaults: what that leaves (store, pepper, lock, auth log) is ignored."""
    if not os.path.isdir(os.path.join(ROOT, ".git")):
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", ROOT, str(clone)], check=True)
    d = Daemon(clone)
    d.stderr_path = str(tmp_path / "patfs.stderr")
    d.start()
    try:
        mint(d, "alice", "ci")
        assert write(d.path("auth/api"), "glpat-" + "z" * 20) == errno.EKEYREJECTED
    finally:
        d.stop()
    left = set(os.listdir(clone))
    assert {"patfs.db", "patfs.pepper", "mnt"} <= left
    r = subprocess.run(["git", "status", "--porcelain", "--ignored=no"], cwd=clone,
                       capture_output=True, text=True, check=True)
    assert r.stdout == "", r.stdout


def documented_modes():
    """{file: (mode with admin_group, without)} from patfs.8's table."""
    text = open(os.path.join(ROOT, "docs", "patfs.8.scd")).read()
    table = text.split("[[ *file*")[1].split("\n\n")[0]
    rows = re.findall(r"\|  (.+)\n:  (0\d{3})\n:  (0\d{3})", table)
    assert len(rows) >= 9
    return {name: (int(a, 8), int(b, 8)) for name, a, b in rows}


@pytest.mark.parametrize("group", [True, False], ids=["admin_group", "default"])
def test_the_documented_modes_are_what_stat_says(make_daemon, group):
    import grp
    config = "[access]\nadmin_group = %s\n" % grp.getgrgid(4).gr_name if group else None
    d = make_daemon(config)
    mint(d, "alice", "sealed", scopes="api")
    mint(d, "alice", "fresh", take=False)
    assert write(d.path("users/alice/uid"), "1000") == 0
    paths = {
        "users/alice/blocked, alice mapped": "users/alice/blocked",
        "a sealed token's scopes, alice mapped": "users/alice/tokens/1/scopes",
        "an unsealed token's token, alice mapped": "users/alice/tokens/2/token",
        "audit.log, credentials.csv and .json (as an administrator reads them)":
            ("audit.log", "credentials.csv", "credentials.json"),
        "expiring/, unused/, noncompliant/": ("expiring", "unused", "unused/90d",
                                              "noncompliant"),
        "revoke": "revoke",
        "identify, scan": ("identify", "scan"), "auth/SCOPE": "auth/read_api",
        "why, scopes, expiring.ics": ("why", "scopes", "expiring.ics"),
        "policy/max_lifetime_days": ("policy/max_lifetime_days", "policy/enforce"),
    }
    modes = documented_modes()
    assert set(modes) == set(paths)
    for name, want in modes.items():
        for p in paths[name] if isinstance(paths[name], tuple) else (paths[name],):
            got = os.stat(d.path(p)).st_mode & 0o7777
            assert got == want[0 if group else 1], (name, p, oct(got))
