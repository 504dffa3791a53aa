"""Writes the way tools make them: a temp file created beside an attribute
and renamed over it (sed -i, Ansible's copy and template, editors that
save by rename) is one write of that attribute, with its checks, errno and
audit, and leaves nothing behind."""
import errno
import json
import os
import shutil
import subprocess
import textwrap

import pytest

from conftest import audit_lines, err_of, mint, read, snapshot, write

ALICE, BOB = 1000, 1001


def as_uid(uid, *cmd, cwd=None):
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                           "--clear-groups"] + list(cmd), cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def tok(fs):
    mint(fs, "alice", "ci")
    assert write(fs.path("users/alice/uid"), str(ALICE)) == 0
    assert write(fs.path("users/alice/tokens/1/description"), "old text") == 0
    return fs


def temp_write(dirpath, name, data):
    """What mkstemp and a write do: the temp file, closed."""
    fd = os.open(os.path.join(dirpath, name), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_sed_i_rewrites_a_value(tok):
    t = tok.path("users/alice/tokens/1")
    before = sorted(os.listdir(t))
    r = subprocess.run(["sed", "-i", "s/old/new/", "description"], cwd=t,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert read(os.path.join(t, "description")) == b"new text\n"
    r = as_uid(ALICE, "sed", "-i", "s/new/owner's/", "description", cwd=t)
    assert r.returncode == 0, r.stderr
    assert read(os.path.join(t, "description")) == b"owner's text\n"
    assert sorted(os.listdir(t)) == before
    changes = [l for l in audit_lines(tok) if l["action"] == "token_set_description"]
    assert [l["uid"] for l in changes[-2:]] == [0, ALICE]


def test_a_temp_file_renamed_over_revoked_revokes_once(tok):
    t = tok.path("users/alice/tokens/1")
    temp_write(t, ".tmpXYZrevoked", b"1\n")
    assert read(os.path.join(t, ".tmpXYZrevoked")) == b"1\n"
    assert ".tmpXYZrevoked" not in os.listdir(t)  # never listed
    os.chmod(os.path.join(t, ".tmpXYZrevoked"), 0o644)  # as tools do
    os.utime(os.path.join(t, ".tmpXYZrevoked"), (1, 1))
    os.rename(os.path.join(t, ".tmpXYZrevoked"), os.path.join(t, "revoked"))
    assert read(os.path.join(t, "revoked")) == b"1\n"
    assert err_of(os.stat, os.path.join(t, ".tmpXYZrevoked")) == errno.ENOENT
    assert [l["action"] for l in audit_lines(tok)].count("token_revoke") == 1
    assert os.stat(os.path.join(t, "revoked")).st_size == 2


def test_a_refused_value_through_a_rename_changes_nothing(tok):
    t = tok.path("users/alice/tokens/1")
    before = snapshot(tok)
    temp_write(t, "sedAbc123", b"2099-01-01\n")
    assert err_of(os.rename, os.path.join(t, "sedAbc123"),
                  os.path.join(t, "expires_at")) == errno.EINVAL
    assert "EINVAL: 2099-01-01 is past the longest lifetime" in \
        read(tok.path("why")).decode().splitlines()[0]
    os.unlink(os.path.join(t, "sedAbc123"))  # the tool cleans up
    assert snapshot(tok) == before
    # onto what is never written, or a secret: refused
    temp_write(t, ".x1", b"other\n")
    assert err_of(os.rename, os.path.join(t, ".x1"), os.path.join(t, "name")) == errno.EPERM
    # a sealed token has no file "token", but the name stays patfs's
    assert err_of(os.rename, os.path.join(t, ".x1"), os.path.join(t, "token")) == errno.EPERM
    assert err_of(os.open, os.path.join(t, "token"), os.O_CREAT | os.O_WRONLY) == errno.EPERM
    os.unlink(os.path.join(t, ".x1"))
    assert snapshot(tok) == before


def test_a_new_name_is_a_temp_file_s_only_so_a_typo_fails(tok):
    """`echo 1 > revokd` must not succeed into a file nobody reads."""
    t = tok.path("users/alice/tokens/1")
    before, names = snapshot(tok), sorted(os.listdir(t))
    r = subprocess.run(["bash", "-c", "echo 1 > revokd"], cwd=t, capture_output=True,
                       text=True)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, r.stderr
    assert "create users/alice/tokens/1/revokd EPERM: no such file here" in \
        read(tok.path("why")).decode().splitlines()[0]
    assert snapshot(tok) == before
    for name in (".ansible_tmpab12revoked", "sedQ1w2E3", "tmpk3j4", "revoked~",
                 "revoked.tmp"):
        temp_write(t, name, b"x")
        os.unlink(os.path.join(t, name))
    assert sorted(os.listdir(t)) == names


def test_temp_files_are_their_creator_s_and_bounded(tok):
    t = tok.path("users/alice/tokens/1")
    r = as_uid(ALICE, "sh", "-c", "printf x > .mine", cwd=t)
    assert r.returncode == 0, r.stderr
    r = as_uid(BOB, "cat", os.path.join(t, ".mine"))
    assert r.returncode != 0  # bob cannot even reach alice's directory
    # alice's own temp files: at most 16 at once
    r = as_uid(ALICE, "sh", "-c", "for i in $(seq 1 20); do touch .t$i || exit 9; done",
               cwd=t)
    assert r.returncode == 9 and "Resource temporarily unavailable" in r.stderr
    r = as_uid(ALICE, "sh", "-c", "rm -f .mine .t*", cwd=t)
    assert r.returncode == 0, r.stderr
    assert as_uid(ALICE, "sh", "-c", ": > .again", cwd=t).returncode == 0
    # a value may not be over 4096 bytes through a temp file either: the
    # 4097th byte is kept to tell, the next is EFBIG
    temp_write(t, ".big", b"x" * 4097)
    assert err_of(os.rename, os.path.join(t, ".big"), os.path.join(t, "description")) \
        == errno.EINVAL
    assert err_of(temp_write, t, ".bigger", b"x" * 5000) == errno.EFBIG


PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    token: "{{ mnt }}/users/alice/tokens/1"
    meta: "{{ lookup('file', token + '/meta.json') | from_json }}"
  tasks:
    - name: describe the token from its metadata
      ansible.builtin.template:
        src: description.j2
        dest: "{{ token }}/description"
    - name: revoke it
      ansible.builtin.copy:
        content: "1\\n"
        dest: "{{ token }}/revoked"
"""


@pytest.mark.skipif(not shutil.which("ansible-playbook"),
                    reason="ansible is not installed (scripts/deps installs it)")
def test_ansible_templates_from_meta_json_and_revokes_with_copy(tok, tmp_path):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "description.j2").write_text(
        "{{ meta.name }} of {{ meta.username }}: {{ meta.scopes | join(',') }}\n")
    env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(tmp_path / "at"),
               ANSIBLE_REMOTE_TEMP=str(tmp_path / "rt"), HOME=str(tmp_path),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    r = subprocess.run(["ansible-playbook", "-i", "localhost,", "-e", "mnt=" + tok.mnt,
                        "play.yml"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "changed=2" in r.stdout and "failed=0" in r.stdout
    t = tok.path("users/alice/tokens/1")
    assert read(os.path.join(t, "description")) == b"ci of alice: read_api\n"
    assert read(os.path.join(t, "revoked")) == b"1\n"
    assert json.loads(read(os.path.join(t, "meta.json")))["revoked"] is True
    assert not [n for n in os.listdir(t) if n.startswith(".")]
    # again: nothing to change, and it says so
    r = subprocess.run(["ansible-playbook", "-i", "localhost,", "-e", "mnt=" + tok.mnt,
                        "play.yml"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "changed=0" in r.stdout, r.stdout[-3000:]


def test_admins_rewrite_a_user_s_and_a_project_s_values_so(tok):
    u = tok.path("users/alice")
    temp_write(u, ".blocked.tmp", b"1\n")
    os.rename(os.path.join(u, ".blocked.tmp"), os.path.join(u, "blocked"))
    assert read(os.path.join(u, "blocked")) == b"1\n"
    os.mkdir(tok.path("projects/web"))
    p = tok.path("projects/web")
    r = subprocess.run(["sh", "-c", "echo acme/web > path.tmp && mv path.tmp path"], cwd=p,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert read(os.path.join(p, "path")) == b"acme/web\n"
    assert sorted(os.listdir(p)) == ["id", "path", "tokens"]
    # the owner may not: its directory is not writable to it
    r = as_uid(ALICE, "sh", "-c", "echo 0 > .b && mv .b blocked", cwd=u)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert read(os.path.join(u, "blocked")) == b"1\n"
