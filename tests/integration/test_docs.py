"""The pages a newcomer and an administrator read: the man pages render
without a warning, and the README stays a newcomer's page."""
import os
import re
import subprocess

from conftest import PATFS, ROOT

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
    assert set(re.findall(r"-o (\w+)", ours)) == {"config", "debug_statements", "init"}
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
