import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def golden(env: str, name: str) -> pathlib.Path:
    """A reference file: the path in ``env`` if set, else the copy vendored in tests/golden/."""
    p = pathlib.Path(os.environ.get(env) or ROOT / "tests" / "golden" / name)
    if not p.is_file():
        raise FileNotFoundError(f"reference file {p} is missing (set {env})")
    return p
