"""The dependency rule of docs/architecture.md, checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _modules_loaded_by(package: str) -> set[str]:
    script = (
        "import json, sys\n"
        f"import {package}\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"import {package} failed:\n{result.stderr}"
    return {name.split(".")[0] for name in json.loads(result.stdout)}


def test_verifier_imports_neither_issuer_nor_sqlalchemy():
    # The verifier may use ``keys`` for its own receipt-signing key, never the issuer's code.
    loaded = _modules_loaded_by("verifier")
    assert "verifier" in loaded
    assert loaded.isdisjoint({"issuer", "sqlalchemy"}), sorted(loaded & {"issuer", "sqlalchemy"})


@pytest.mark.parametrize("package", ["vc", "keys", "serving"])
def test_pure_packages_import_neither_flask_nor_sqlalchemy(package):
    loaded = _modules_loaded_by(package)
    assert package in loaded
    assert loaded.isdisjoint({"flask", "sqlalchemy"}), sorted(loaded & {"flask", "sqlalchemy"})
