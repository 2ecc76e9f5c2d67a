#!/usr/bin/env python3
"""Provenance of a benchmark report (issue 18), Python 3 standard library only.

Every report under docs/results/ must come from a committed script at a named commit. This
module tells the report scripts what to record and when to refuse:

* provenance(anchors, lrate) -> dict: the commit (HEAD, short and full sha), whether the
  working tree is dirty (`git status --porcelain` not empty, untracked files included), whether
  the report is a draft, the CPU, nproc, OS, Python, the anchor libraries' versions
  ({"torch": "2.15.0+cu132"}) and, given the binary, `lrate --version`.
* check_tree(): on a dirty tree, exits with status 2 and says why, unless DRAFT=1 in the
  environment: then it returns True (a draft) and the report must say so, with DRAFT_LINE as
  the very first line of its .md and "draft": true in its JSON. check_tree(refuse=False) only
  marks a draft (quick mode, the smoke tests: they must run on any tree).

From Python (the bench scripts put their own directory on sys.path, so this works from the
repository root and from anywhere else):

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import provenance
    draft = provenance.check_tree()                # exits 2 on a dirty tree without DRAFT=1
    prov = provenance.provenance(anchors={"torch": torch.__version__}, lrate=LRATE)

From a shell script:

    python3 bench/provenance.py check              # exit 0: clean, or dirty with DRAFT=1
                                                   # (prints "clean" or "draft"); exit 2: refused
    python3 bench/provenance.py check --mark-only  # never refuses: prints "clean" or "draft"
    python3 bench/provenance.py json [--anchor torch=2.15.0 ...] [--lrate PATH] [--draft]

Environment: DRAFT=1 lets check_tree() go on on a dirty tree (the report is marked DRAFT).
A tree that is not a git checkout (or without git) counts as dirty: its commit is unknown.
"""

import argparse
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DRAFT_LINE = "**DRAFT: measured on a working tree with uncommitted changes; not evidence.**"
REFUSAL = ("refusing to run on a working tree with uncommitted changes (git status --porcelain "
           "is not empty); commit first, or set DRAFT=1 to write a report marked DRAFT")


def git(*args):
    """stdout of `git -C ROOT ARGS`, stripped; None when git fails or is missing."""
    try:
        r = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True)
    except OSError:
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def commit():
    """(short sha, full sha) of HEAD, or ("unknown", None) outside a git checkout."""
    return git("rev-parse", "--short", "HEAD") or "unknown", git("rev-parse", "HEAD")


def is_dirty():
    """Whether `git status --porcelain` lists anything (untracked files too); True when it
    cannot be run, since the tree then cannot be shown to be committed."""
    status = git("status", "--porcelain")
    return status is None or status != ""


def cpu_model():
    """The CPU as /proc/cpuinfo names it, with its family, model and stepping and the widest
    vector ISA it reports, e.g. `AMD EPYC (family 25, model 1, stepping 1; avx2)`: a virtual
    machine often shows only a vendor string, and two machines that both read `AMD EPYC` can
    differ by a vector width."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or "unknown"
    flags = set(fields.get("flags", "").split())
    isa = next((i for i in ("avx512f", "avx2", "avx", "sse4_2") if i in flags), None)
    ident = [f"{k} {fields[k]}" for k in ("cpu family", "model", "stepping") if k in fields]
    ident = [i.replace("cpu family", "family") for i in ident]
    detail = ", ".join(ident)
    if isa:
        detail = f"{detail}; {isa}" if detail else isa
    return f"{name} ({detail})" if detail else name


def nproc():
    """The CPUs this process may run on (what `nproc` prints)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def lrate_version(lrate):
    try:
        r = subprocess.run([lrate, "--version"], capture_output=True, text=True)
    except OSError:
        return None
    return r.stdout.strip() or None


def check_tree(allow_draft_env="DRAFT", refuse=True, prog=None):
    """Whether this report is a draft. A clean tree: False. A dirty one: exits with status 2
    and REFUSAL unless the environment variable `allow_draft_env` is "1" or `refuse` is False;
    then True, with a note on stderr."""
    if not is_dirty():
        return False
    prog = prog or os.path.basename(sys.argv[0] or "provenance.py")
    if refuse and os.environ.get(allow_draft_env) != "1":
        print(f"{prog}: {REFUSAL}", file=sys.stderr)
        sys.exit(2)
    print(f"{prog}: the working tree has uncommitted changes: the report is marked DRAFT",
          file=sys.stderr)
    return True


def provenance(anchors=None, lrate=None, draft=None):
    """What a report records about where it was measured. `anchors`: {library: version} of
    the libraries it compares against; `lrate`: the lrate binary (its --version is recorded);
    `draft`: check_tree()'s answer (default: whether the tree is dirty)."""
    short, full = commit()
    dirty = is_dirty()
    p = {"commit": short, "commit_full": full, "dirty": dirty,
         "draft": dirty if draft is None else bool(draft),
         "cpu": cpu_model(), "nproc": nproc(), "os": platform.platform(),
         "python": platform.python_version(), "anchors": dict(anchors or {})}
    if lrate:
        p["lrate_version"] = lrate_version(lrate)
    return p


def md_header(prov):
    """The lines a report's .md starts with: DRAFT_LINE and a blank line for a draft."""
    return [DRAFT_LINE, ""] if prov.get("draft") else []


def md_line(prov):
    """One line naming the commit, the tree's state and the machine, for a report's .md."""
    tree = "uncommitted changes: DRAFT" if prov.get("dirty") or prov.get("draft") else "clean tree"
    anchors = "".join(f", {k} {v}" for k, v in sorted((prov.get("anchors") or {}).items()))
    lrate = f", lrate `{prov['lrate_version']}`" if prov.get("lrate_version") else ""
    return (f"Commit `{prov.get('commit')}` ({tree}); {prov.get('nproc')} cores (`nproc`), CPU "
            f"`{prov.get('cpu')}`, {prov.get('os')}, Python {prov.get('python')}{anchors}{lrate}.")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bench/provenance.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="exit 2 on a dirty tree unless DRAFT=1; print clean/draft")
    c.add_argument("--mark-only", action="store_true",
                   help="never refuse (quick mode): only print clean or draft")
    c.add_argument("--prog", help="name to put before the refusal (default: provenance.py)")
    j = sub.add_parser("json", help="print provenance() as JSON")
    j.add_argument("--anchor", action="append", default=[], metavar="NAME=VERSION")
    j.add_argument("--lrate", help="lrate binary whose --version to record")
    j.add_argument("--draft", action="store_true", help="mark the report a draft")
    a = ap.parse_args(argv)
    if a.cmd == "check":
        draft = check_tree(refuse=not a.mark_only, prog=a.prog)
        print("draft" if draft else "clean")
        return 0
    anchors = {}
    for item in a.anchor:
        name, sep, version = item.partition("=")
        if not sep or not name:
            ap.error(f"--anchor {item!r}: expected NAME=VERSION")
        anchors[name] = version
    print(json.dumps(provenance(anchors, a.lrate, draft=True if a.draft else None), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
