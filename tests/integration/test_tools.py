"""Real tools over the mount, and SPEC §8's cookbook as shell one-liners."""
import datetime
import os
import subprocess

from conftest import mint, read, write


def sh(d, script):
    r = subprocess.run(["bash", "-c", "set -euo pipefail; " + script], cwd=d.mnt,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def day(delta):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return (d + datetime.timedelta(days=delta)).isoformat()


def populate(d):
    mint(d, "alice", "ci", scopes="api")
    mint(d, "alice", "ro", scopes="read_repository")
    mint(d, "bob", "deploy", scopes="write_registry")
    mint(d, "carol", "old")
    write(d.path("users/carol/tokens/4/revoked"), "1")
    write(d.path("users/alice/tokens/1/expires_at"), day(10))
    write(d.path("users/alice/tokens/2/expires_at"), day(10))
    write(d.path("users/bob/tokens/3/expires_at"), day(200))


def test_find_grep_ls(fs):
    populate(fs)
    assert sorted(sh(fs, "find users -name scopes").split()) == \
        ["users/%s/tokens/%d/scopes" % (u, i)
         for u, i in [("alice", 1), ("alice", 2), ("bob", 3), ("carol", 4)]]
    assert sh(fs, "grep -rlx api users | sort") == "users/alice/tokens/1/scopes\n"
    assert sh(fs, "grep -rl '^1$' users --include=revoked") == "users/carol/tokens/4/revoked\n"
    out = sh(fs, "ls -lR users | grep -c '^-'")
    assert int(out) == 3 * 5 + 4 * 14
    assert sh(fs, "find users -type d -name '[0-9]*' | wc -l").strip() == "4"


def test_tar_and_rsync_copy_exact_bytes(fs, tmp_path):
    populate(fs)
    sh(fs, "tar cf %s/u.tar users" % tmp_path)
    dest = tmp_path / "x"
    dest.mkdir()
    subprocess.run(["tar", "xf", str(tmp_path / "u.tar"), "-C", str(dest)], check=True)
    rs = tmp_path / "r"
    subprocess.run(["rsync", "-a", fs.path("users") + "/", str(rs)], check=True)
    n = 0
    for dirpath, _, filenames in os.walk(fs.path("users")):
        for fn in filenames:
            src = os.path.join(dirpath, fn)
            rel = os.path.relpath(src, fs.mnt)
            assert read(str(dest / rel)) == read(src), rel
            assert read(str(rs / os.path.relpath(src, fs.path("users")))) == read(src)
            st, copied = os.stat(src), os.stat(str(dest / rel))
            assert int(st.st_mtime) == int(copied.st_mtime)
            n += 1
    assert n == 3 * 5 + 4 * 14


def test_cookbook(fs):
    populate(fs)
    # tokens expiring on a date
    assert sh(fs, "ls expiring/%s/" % day(10)).split() == ["1", "2"]
    # tokens expiring within a month: the dates between today and +1 month
    out = sh(fs, 'from=$(date -u +%F); to=$(date -u -d "+1 month" +%F); '
                 'for d in expiring/20*; do n=${d#expiring/}; '
                 '[[ "$n" > "$from" && ! "$n" > "$to" ]] && ls "$d"; done; true')
    assert out.split() == ["1", "2"]
    # tokens without expiry: none here (require_expiry)
    assert sh(fs, "ls expiring/never/") == ""
    # the ten dates when most tokens expire
    out = sh(fs, 'for d in expiring/[0-9]*/; do echo "$(ls "$d" | wc -l) $(basename "$d")"; done'
                 ' | sort -rn | head -10')
    assert out.splitlines()[0] == "2 " + day(10)
    # extend every unrevoked, non-impersonation token expiring on a date by 6 months
    new = day(180)
    sh(fs, 'for t in expiring/%s/*; do '
           '[ "$(cat "$t/impersonation")" = 0 ] && echo %s > "$t/expires_at"; done' % (day(10), new))
    assert read(fs.path("users/alice/tokens/1/expires_at")) == (new + "\n").encode()
    assert read(fs.path("users/alice/tokens/2/expires_at")) == (new + "\n").encode()
    assert sh(fs, "ls expiring/%s/" % new).split() == ["1", "2"]
    # tokens of blocked users
    write(fs.path("users/bob/blocked"), "1")
    out = sh(fs, 'for u in users/*; do [ "$(cat $u/blocked)" = 1 ] && ls -d $u/tokens/*; done; true')
    assert out.split() == ["users/bob/tokens/3"]
    # tokens not used for 90 days: none yet (all created now)
    assert sh(fs, "find users -name last_used_at -mtime +90") == ""
    assert len(sh(fs, "find users -name last_used_at -mtime -1").split()) == 4


def test_cookbook_projects_and_groups(fs):
    """The guide's "expired on a date" script, for personal, project and
    group tokens, from meta.json with jq; project tokens from tokens.json;
    the week's expiries rotated."""
    for kind, name in [("projects", "web"), ("groups", "ops")]:
        os.mkdir(fs.path(kind, name))
        os.mkdir(fs.path(kind, name, "tokens", "deploy"))
        read(fs.path(kind, name, "tokens/deploy/token"))
        assert write(fs.path(kind, name, "tokens/deploy/expires_at"), day(5)) == 0
    os.mkdir(fs.path("users/alice"))
    os.mkdir(fs.path("users/alice/tokens/ci"))
    read(fs.path("users/alice/tokens/ci/token"))
    assert write(fs.path("users/alice/tokens/ci/expires_at"), day(5)) == 0
    pid = int(read(fs.path("projects/web/id")))
    gid = int(read(fs.path("groups/ops/id")))
    script = (r"""jq -r 'def l: "Token ID: \(.id), Name: \(.name), Scopes: \(.scopes|tojson),"""
              r""" Last used: \(.last_used_at)";"""
              r""" if .resource_type == "project" then"""
              r""" "Expired Project access token in Project ID \(.resource_id), " + l"""
              r""" elif .resource_type == "group" then"""
              r""" "Expired Group access token in Group ID \(.resource_id), " + l"""
              r""" else "Expired Personal access token of \(.username), " + l end'"""
              " expiring/%s/*/meta.json" % day(5))
    out = sh(fs, script).splitlines()
    assert sorted(out) == sorted([
        'Expired Project access token in Project ID %d, Token ID: 1, Name: deploy,'
        ' Scopes: ["read_api"], Last used: null' % pid,
        'Expired Group access token in Group ID %d, Token ID: 2, Name: deploy,'
        ' Scopes: ["read_api"], Last used: null' % gid,
        'Expired Personal access token of alice, Token ID: 3, Name: ci,'
        ' Scopes: ["read_api"], Last used: null',
    ])
    out = sh(fs, """jq -r '.[] | select(.resource_type == "project") |"""
                 r""" "\(.resource_path) \(.id) \(.name) \(.access_level_name)"'"""
                 """ users/*/tokens.json""")
    assert out == "web 1 deploy maintainer\n"
    assert sorted(sh(fs, "ls expiring/within/7d/").split()) == ["1", "2", "3"]
    sh(fs, 'for t in expiring/within/7d/*; do echo 1 > "$t/rotate"; done')
    # their successors expire a week from today
    assert sorted(sh(fs, "ls expiring/within/7d/").split()) == ["4", "5", "6"]
    assert sorted(sh(fs, "ls expiring/%s/" % day(7)).split()) == ["4", "5", "6"]
    assert read(fs.path("projects/web/tokens/deploy/previous/name")) == b"deploy\n"
