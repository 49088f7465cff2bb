"""The import contracts of pyproject.toml ([tool.importlinter], run by ``make test`` as
``lint-imports``) hold, and they do catch a broken boundary."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("vc", "keys", "serving", "issuer", "verifier")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_contracts_are_kept():
    result = _lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_contracts_catch_crossed_boundaries(tmp_path):
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    _append(tmp_path / "verifier" / "core.py", "import issuer.credentials.issuance  # noqa")
    _append(tmp_path / "vc" / "jose.py", "import flask  # noqa")
    _append(tmp_path / "issuer" / "credentials" / "issuance.py", "import flask  # noqa")
    _append(tmp_path / "issuer" / "records" / "evidence.py", "import issuer.credentials.bulk  # noqa")
    _append(tmp_path / "issuer" / "rules" / "kinds.py", "import sqlalchemy  # noqa")
    _append(tmp_path / "serving" / "server.py", "import verifier  # noqa")

    result = _lint_imports(tmp_path)

    assert result.returncode != 0
    out = result.stdout
    for contract in (
        "verifier imports neither issuer nor SQLAlchemy BROKEN",
        "vc and keys import neither service, Flask nor SQLAlchemy BROKEN",
        "services above keys above vc BROKEN",
        "issuer layers: each imports only downward BROKEN",
        "issuer below the web layer imports neither Flask nor Werkzeug BROKEN",
        "issuer rules are pure: no SQLAlchemy, no Flask BROKEN",
        "serving imports neither service, Flask nor SQLAlchemy BROKEN",
    ):
        assert contract in out, out
