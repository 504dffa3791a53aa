"""Fixtures that mount a real patfs in a temporary directory.

The daemon runs in the foreground with its stderr in a file; when a test ends
the mount is taken down and the test fails if that stderr shows an error or a
sanitizer report (as sshfs's tests do).

PATFS_STORE=postgresql runs the suite on PostgreSQL: a throwaway cluster from
Debian's postgresql package (initdb in a temporary directory, a Unix socket,
run as the unprivileged user postgres) for the session, a new schema for
each test, and every configuration a test writes gets [store] backend and dsn.
Tests of what only a SQLite store has are marked sqlite_only."""
import errno
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATFS = os.environ.get("PATFS_BIN", os.path.join(ROOT, "build", "patfs"))


def _built_with(lib):
    try:
        out = subprocess.run(["ldd", PATFS], capture_output=True, text=True).stdout
    except OSError:
        return False
    return lib in out


TSAN = _built_with("libtsan")  # a ThreadSanitizer build (meson -Db_sanitize=thread)
# a sanitizer's build: its allocator keeps freed memory aside and maps shadow
# memory, so the daemon's RSS says nothing of patfs's own
SANITIZED = TSAN or _built_with("libasan")
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
STORE = os.environ.get("PATFS_STORE", "sqlite")
PG = STORE == "postgresql"
PG_DSN = None  # this test's database, while PG


def pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def store_lines():
    """The [store] keys that put a daemon on this run's store."""
    if not PG:
        return ""
    return "backend = postgresql\ndsn = %s\n" % PG_DSN


def with_store(body):
    """body with this run's store keys in its [store] section."""
    if not PG:
        return body
    keys = store_lines()
    return body + ("\n" if body and not body.endswith("\n") else "") + \
        "[store]\n" + keys


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only(why): tests what only a SQLite store has")


def pytest_collection_modifyitems(config, items):
    for item in items:
        m = item.get_closest_marker("sqlite_only")
        if PG and m:
            item.add_marker(pytest.mark.skip(
                reason="SQLite store only: " + (m.args[0] if m.args else "")))


def pg_ctl(top, *args):
    """Runs the cluster at top's pg_ctl as postgres: start, stop, ..."""
    pw = pwd.getpwnam("postgres")
    as_pg = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
             "--clear-groups"]
    if args[0] == "initdb":
        cmd = [os.path.join(pg_bin(), "initdb"), "-D", top + "/data",
               "--auth=trust", "-U", "postgres", "-E", "UTF8"]
    else:
        cmd = [os.path.join(pg_bin(), "pg_ctl"), "-D", top + "/data", "-l",
               top + "/log", "-w", "-o",
               "-c listen_addresses='' -c unix_socket_directories='%s'"
               " -c max_connections=300" % top] + list(args)
    subprocess.run(as_pg + cmd, check=True, stdout=subprocess.DEVNULL, cwd=top)


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's PostgreSQL cluster: its directory, the socket's too."""
    if not PG:
        pytest.skip("needs PostgreSQL: PATFS_STORE=postgresql runs it")
    if not pg_bin():
        pytest.skip("PostgreSQL is not installed (Debian's postgresql "
                    "package): the PostgreSQL runs are skipped")
    pw = pwd.getpwnam("postgres")
    top = tempfile.mkdtemp(prefix="patfs-pg-")
    os.chown(top, pw.pw_uid, pw.pw_gid)
    pg_ctl(top, "initdb")
    pg_ctl(top, "start")
    db = pg_admin(top, "postgres")
    db.cursor().execute("CREATE DATABASE patfs")  # each test has a schema
    db.close()
    yield top
    pg_ctl(top, "-m", "immediate", "stop")
    shutil.rmtree(top, ignore_errors=True)


def pg_admin(sock, dbname="patfs"):
    """A new connection to the cluster, autocommitting."""
    import psycopg2
    db = psycopg2.connect(host=sock, user="postgres", dbname=dbname)
    db.autocommit = True
    return db


_schemas = [0]


@pytest.fixture(autouse=True)
def pg_database(request):
    """On PostgreSQL, a new schema for each test (the dsn's search_path),
    dropped after it."""
    global PG_DSN
    if not PG:
        yield None
        return
    sock = request.getfixturevalue("pg_cluster")
    _schemas[0] += 1
    name = "t%d" % _schemas[0]
    db = pg_admin(sock)
    db.cursor().execute("CREATE SCHEMA %s" % name)
    db.close()
    PG_DSN = ("host=%s user=postgres dbname=patfs options='-c search_path=%s'"
              % (sock, name))
    yield PG_DSN
    PG_DSN = None
    db = pg_admin(sock)  # a test may have stopped and started the server
    db.cursor().execute("DROP SCHEMA %s CASCADE" % name)
    db.close()


BAD_STDERR = re.compile(r"error|AddressSanitizer|LeakSanitizer|runtime error|"
                        r"Sanitizer|WARNING", re.I)


class Daemon:
    """One patfs process and its mount point."""

    def __init__(self, workdir, config=None, env=None, name="mnt", args=()):
        self.workdir = str(workdir)
        self.args = list(args)
        self.mnt = os.path.join(self.workdir, name)
        self.config = config
        self.env = env or {}
        self.proc = None
        self.stderr_path = os.path.join(self.workdir, "patfs.stderr")
        self.stderr_seen = ""
        self.start_cmd_prefix = []  # e.g. prlimit: it execs patfs

    def start(self, expect_fail=False):
        os.makedirs(self.mnt, exist_ok=True)
        cmd = self.start_cmd_prefix + [PATFS, "-f"] + self.args
        if PG and not self.config and not any(
                a.startswith("-c") or "config=" in a for a in self.args):
            self.config = write_config(self.workdir, "")
        if self.config:
            cmd += ["-c", self.config]
        cmd.append(self.mnt)
        env = dict(os.environ)
        env.update(self.env)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        if TSAN and "faketime" in env.get("LD_PRELOAD", ""):
            # libfaketime wraps pthread_cond_timedwait and calls glibc's
            # own, so ThreadSanitizer never sees the wait give the mutex
            # back and reports every later lock of it as a double lock
            pytest.skip("libfaketime hides pthread_cond_timedwait from "
                        "ThreadSanitizer")
        self.err = open(self.stderr_path, "a")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stderr=self.err,
                                     stdout=subprocess.DEVNULL, env=env)
        if expect_fail:
            rc = self.proc.wait(timeout=30)
            self.err.close()
            self.proc = None
            return rc
        deadline = time.time() + 30
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None:
                self.err.close()
                raise RuntimeError("patfs exited with %d: %s" % (
                    self.proc.returncode, self.read_stderr()))
            if time.time() > deadline:
                raise RuntimeError("patfs did not mount: " + self.read_stderr())
            time.sleep(0.02)
        return 0

    def stop(self):
        if self.proc is None:
            return
        r = subprocess.run(["fusermount3", "-u", self.mnt], check=False,
                           stderr=subprocess.DEVNULL)
        if r.returncode != 0 and os.path.ismount(self.mnt):
            # busy (a file left open): detach it, or it outlives the run
            # and scripts/test skips the io_uring pass for other mounts
            subprocess.run(["fusermount3", "-u", "-z", self.mnt], check=False,
                           stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        self.proc = None

    def kill9(self):
        """Kills the daemon outright and clears the dead mount."""
        self.proc.kill()
        self.proc.wait()
        self.err.close()
        self.proc = None
        subprocess.run(["fusermount3", "-u", "-z", self.mnt], check=False,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["umount", "-l", self.mnt], check=False,
                       stderr=subprocess.DEVNULL)

    def restart(self):
        self.stop()
        self.start()

    def read_stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""  # never started

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def check_stderr(self):
        text = self.read_stderr()
        bad = [l for l in text.splitlines() if BAD_STDERR.search(l)]
        assert not bad, "daemon stderr shows problems:\n" + text


def write_config(workdir, body=""):
    path = os.path.join(str(workdir), "patfs.ini")
    with open(path, "w") as f:
        f.write(with_store(body))
    return path


@pytest.fixture
def make_daemon(tmp_path):
    """Factory: make_daemon(config_text=None, env=None) -> started Daemon."""
    daemons = []

    def make(config_text=None, env=None, start=True, args=()):
        cfg = write_config(tmp_path, config_text) if config_text is not None else None
        d = Daemon(tmp_path, cfg, env, args=args)
        daemons.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in daemons:
        d.stop()
    for d in daemons:
        d.check_stderr()


@pytest.fixture
def fs(make_daemon):
    """A started patfs on the embedded defaults (store in the test's dir)."""
    return make_daemon()


# Helpers for the tests ------------------------------------------------------

class Rows(list):
    def fetchall(self):
        return list(self)

    def fetchone(self):
        return self[0] if self else None


class StoreDB:
    """SQL on a daemon's store, whichever it is, each statement committed on
    its own; parameters are written ?."""

    def __init__(self, workdir, name="patfs.db"):
        if PG:
            import psycopg2
            self.db = psycopg2.connect(PG_DSN)
            self.db.autocommit = True
        else:
            import sqlite3
            self.db = sqlite3.connect(os.path.join(str(workdir), name),
                                      isolation_level=None)

    def execute(self, sql, args=()):
        if PG:
            cur = self.db.cursor()
            cur.execute(sql.replace("?", "%s"), tuple(args))
            rows = Rows(tuple(r) for r in cur.fetchall()) \
                if cur.description else Rows()
            cur.close()
            return rows
        return Rows(self.db.execute(sql, args).fetchall())

    def commit(self):
        pass  # each statement commits on its own

    def close(self):
        self.db.close()


def store_db(d):
    """A StoreDB on Daemon d's store."""
    return StoreDB(d.workdir)


class WriteLock:
    """Holds the store's write lock from another program, as a backup (on
    SQLite) or another host's writer (on PostgreSQL) might: with ... as."""

    def __init__(self, d):
        self.db = store_db(d)

    def __enter__(self):
        if PG:  # store_pg.c's LOCK_CLASS, LOCK_WRITE
            self.db.execute("SELECT pg_advisory_lock(1885434982, 1)")
        else:
            self.db.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc):
        if PG:
            self.db.execute("SELECT pg_advisory_unlock(1885434982, 1)")
        else:
            self.db.execute("COMMIT")
        self.db.close()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    """One write(2) of data to path (O_WRONLY|O_TRUNC); returns 0 or errno."""
    if isinstance(data, str):
        data = data.encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError as e:
        return e.errno
    try:
        os.write(fd, data)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def err_of(fn, *args):
    """The errno fn(*args) fails with, or 0 (an fd os.open gave is closed:
    an open file left behind keeps the mount busy)."""
    try:
        r = fn(*args)
    except OSError as e:
        return e.errno
    if fn is os.open:
        os.close(r)
    return 0


def mint(d, user, name, take=True, scopes=None):
    """Creates user if needed and mints a token; returns (id, secret)."""
    udir = d.path("users", user)
    if not os.path.isdir(udir):
        os.mkdir(udir)
    before = set(os.listdir(os.path.join(udir, "tokens")))
    tdir = os.path.join(udir, "tokens", name)
    os.mkdir(tdir)
    if scopes is not None:
        assert write(os.path.join(tdir, "scopes"), scopes) == 0
    new = set(os.listdir(os.path.join(udir, "tokens"))) - before
    assert len(new) == 1
    tid = int(new.pop())
    secret = read(os.path.join(tdir, "token")).decode().strip() if take else None
    if take:  # the name goes with the release that follows close(2)
        settles(lambda: os.path.exists(os.path.join(tdir, "token")), False,
                limit=2.0)
    return tid, secret


def audit_lines(d):
    import json
    return [json.loads(l) for l in read(d.path("audit.log")).decode().splitlines()]


def snapshot(d):
    """Every readable attribute under users/ (not the secrets), for proving
    that a refused change changed nothing."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(d.path("users")):
        if "revoked" in filenames:  # a token: is its unlisted secret there?
            out[os.path.join(dirpath, "token")] = os.path.exists(
                os.path.join(dirpath, "token"))
        for fn in filenames:
            p = os.path.join(dirpath, fn)
            out[p] = read(p)
    out["audit.log"] = read(d.path("audit.log"))
    return out


def settles(fn, want, limit=1.0):
    """Polls fn() until it returns want; returns the seconds that took, or
    fails when it takes longer than limit (caches must not stay stale)."""
    t0 = time.monotonic()
    while True:
        got = fn()
        took = time.monotonic() - t0
        if got == want:
            return took
        assert took < limit, "still %r after %.2f s, want %r" % (got, took, want)
        time.sleep(0.01)


def requests(d, since):
    """[(op, kind, id, statements, rows)] from the daemon's statement log,
    a line per request, since byte since of its stderr."""
    out = []
    for line in d.read_stderr()[since:].splitlines():
        m = re.match(r"patfs: statements: (\w+) (.+) (-?\d+): (\d+) "
                     r"\(rows (\d+)\)$", line)
        if m:
            out.append((m.group(1), m.group(2), int(m.group(3)),
                        int(m.group(4)), int(m.group(5))))
    return out


def counts(d, since):
    """{(op, kind): [statements, ...]} from the daemon's statement log."""
    out = {}
    for op, kind, _, n, _ in requests(d, since):
        out.setdefault((op, kind), []).append(n)
    return out


def forget_names():
    """Makes the kernel forget every name and inode nobody uses (as memory
    pressure would), so that the next path walk asks the daemon again."""
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")


def notice_run_ended(d, limit=15.0):
    """Waits until d's daily run of expiry notices has ended (the metrics
    file's patfs_notice_last_run_timestamp_seconds is set): the positive
    event after which a notice that was not sent will not be."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        m = re.search(rb"^patfs_notice_last_run_timestamp_seconds (\d+)$",
                      read(d.path("metrics")), re.M)
        if m and int(m.group(1)) > 0:
            return
        time.sleep(0.1)
    raise AssertionError("the notice run did not end within %gs" % limit)


@pytest.fixture
def small_fs(tmp_path):
    """A 16 MiB tmpfs for a store, its pepper and the auth log (0755: the
    uids of a test reach the files it mounts through it)."""
    path = tmp_path / "small"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755",
                    "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
