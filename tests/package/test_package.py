"""The Debian package, built by scripts/package (dpkg-buildpackage, then
lintian with no error), its contents, and installed for real with apt on
this machine, then purged: the store and pepper stay. Run once by
scripts/test, as root; the install is skipped on a machine that already
has patfs installed or a /var/lib/patfs."""
import grp
import os
import shutil
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = {"./etc/patfs/patfs.ini", "./lib/systemd/system/patfs@.service", "./usr/sbin/patfs",
         "./usr/share/doc/patfs/changelog.gz", "./usr/share/doc/patfs/copyright",
         "./usr/share/man/man5/patfs.ini.5.gz", "./usr/share/man/man8/patfs.8.gz"}


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    out = tmp_path_factory.mktemp("deb")
    r = subprocess.run([os.path.join(ROOT, "scripts/package"), str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "E:" not in r.stdout  # lintian
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    assert len(debs) == 1 and debs[0].startswith("patfs_") and debs[0].endswith("_amd64.deb")
    return os.path.join(out, debs[0])


def test_the_package_holds_the_service_and_nothing_else(deb):
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    files = {l.split()[-1] for l in listing if not l.startswith("d")}
    assert files == FILES
    info = subprocess.run(["dpkg-deb", "-I", deb], capture_output=True, text=True,
                          check=True).stdout
    depends = next(l for l in info.splitlines() if l.strip().startswith("Depends:"))
    for lib in ("fuse3", "libfuse3-3", "libsqlite3-0", "libsodium23", "libinih1", "adduser"):
        assert lib in depends, depends
    ctl = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], capture_output=True,
                         check=True).stdout
    assert b"./conffiles" in ctl and b"/etc/patfs/patfs.ini\n" in ctl  # a conffile


def installed_already():
    return (subprocess.run(["dpkg", "-s", "patfs"], capture_output=True).returncode == 0
            or os.path.exists("/var/lib/patfs"))


@pytest.mark.skipif(installed_already(), reason="this machine has patfs installed")
def test_apt_installs_it_and_purge_keeps_the_store(deb, tmp_path):
    had_group = any(g.gr_name == "patfs-admin" for g in grp.getgrall())
    mnt = tmp_path / "tokens"
    mnt.mkdir()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        r = subprocess.run(["apt-get", "install", "-y", "-q", deb], capture_output=True,
                           text=True, env=env)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert grp.getgrnam("patfs-admin")
        for d in ("/var/lib/patfs", "/var/log/patfs"):
            st = os.stat(d)
            assert st.st_mode & 0o777 == 0o700 and st.st_uid == 0
        # the installed configuration works as it stands
        p = subprocess.Popen(["/usr/sbin/patfs", "-f", "-c", "/etc/patfs/patfs.ini", str(mnt)],
                             stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while not os.path.ismount(mnt):
            assert p.poll() is None and time.time() < deadline, p.stderr.read()
            time.sleep(0.05)
        os.mkdir(mnt / "users" / "alice")
        os.mkdir(mnt / "users" / "alice" / "tokens" / "ci")
        assert (mnt / "users/alice/tokens/ci/token").read_bytes().startswith(b"glpat-")
        assert os.stat(mnt / "audit.log").st_gid == grp.getgrnam("patfs-admin").gr_gid
        subprocess.run(["fusermount3", "-u", str(mnt)], check=True)
        assert p.wait(timeout=20) == 0
        assert sorted(os.listdir("/var/lib/patfs"))[:2] == ["patfs.db", "patfs.db-shm"]
        r = subprocess.run(["apt-get", "purge", "-y", "-q", "patfs"], capture_output=True,
                           text=True, env=env)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert not os.path.exists("/usr/sbin/patfs") and not os.path.exists("/etc/patfs")
        kept = os.listdir("/var/lib/patfs")
        assert "patfs.db" in kept and "patfs.pepper" in kept
    finally:
        subprocess.run(["apt-get", "purge", "-y", "-q", "patfs"], capture_output=True, env=env)
        shutil.rmtree("/var/lib/patfs", ignore_errors=True)
        shutil.rmtree("/var/log/patfs", ignore_errors=True)
        if not had_group:
            subprocess.run(["delgroup", "--quiet", "patfs-admin"], capture_output=True)


def test_the_readme_s_service_steps_install_etc_patfs(tmp_path):
    """The README's service command, as written, on a checkout where
    scripts/mount already configured build/ for /usr/local: its own build
    directory, installed (into a DESTDIR here) with the unit and
    /etc/patfs/patfs.ini."""
    readme = open(os.path.join(ROOT, "README.md")).read()
    section = readme.split("## As a service\n")[1].split("\n## ")[0]
    (cmd,) = [l.strip() for l in section.splitlines() if "meson setup" in l]
    dest = tmp_path / "dest"
    r = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ, DESTDIR=str(dest)))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (dest / "etc/patfs/patfs.ini").is_file()
    assert (dest / "usr/sbin/patfs").is_file()
    units = list(dest.glob("**/systemd/system/patfs@.service"))
    assert len(units) == 1
    unit = units[0].read_text()
    assert "ExecStart=/usr/sbin/patfs -f -c /etc/patfs/patfs.ini %f\n" in unit, unit
    assert not list(dest.glob("usr/local/**/*.*"))
