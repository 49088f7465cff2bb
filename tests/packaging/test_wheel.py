"""The wheel installs anywhere: built from a copy of the sources, installed into a fresh virtual
environment and run from a folder outside the repository, it serves the holder page, the
verifier's page and the staff console (templates, static files, migrations and programs.toml
all come from the wheel).

No network: the wheel is built with ``--no-isolation`` (``build`` and ``setuptools`` are in the
``test`` extra), installed with ``--no-index --no-deps``, and the fresh environment reaches the
dependencies already installed in this one through a ``.pth`` line (which adds that
site-packages folder only, not the ``.pth`` files in it, so not this project's editable install).
Takes about 10 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "vc", "keys", "serving", "issuer", "verifier", "templates")

CHECK = r"""
import json, os, sys
from pathlib import Path

import issuer, keys, templates, vc, verifier
from issuer import create_app as issuer_app
from verifier import create_app as verifier_app

repo, prefix, holder_path = Path(sys.argv[1]), Path(sys.prefix).resolve(), sys.argv[2]
located = {m.__name__: str(Path(m.__file__).resolve()) for m in (issuer, verifier, templates, vc, keys)}
out = {
    "outside_repo": all(not Path(p).is_relative_to(repo) for p in located.values()),
    "in_fresh_venv": all(Path(p).is_relative_to(prefix) for p in located.values()),
    "repo_on_path": any(p and Path(p).resolve() == repo for p in sys.path),
    "cwd": os.getcwd(),
    "located": located,
    "templates": [str(issuer.TEMPLATES), str(verifier.TEMPLATES)],
}
iss = issuer_app().test_client()
ver = verifier_app({"KEYS_DIR": "verifier-keys"}).test_client()
pages = {
    "holder": iss.get(holder_path),
    "console_login": iss.get("/console/login"),
    "issuer_css": iss.get("/static/issuer.css"),
    "verifier_home": ver.get("/"),
    "verifier_css": ver.get("/static/verifier.css"),
}
out["pages"] = {k: [r.status_code, r.get_data(as_text=True)] for k, r in pages.items()}
for r in pages.values():
    r.close()
print(json.dumps(out))
"""


def _run(args: list[str], **kwargs: object) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, **kwargs)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh venv with only the wheel installed, its bin folder, environment)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, src / name)
    dist = tmp / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)])
    (wheel,) = dist.glob("*.whl")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
          "--no-index", "--no-deps", "--disable-pip-version-check", str(wheel)])
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(_run([str(python), "-c", where]).strip())
    (purelib / "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ISSUER_", "VERIFIER_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return python, venv / "bin", env


def test_wheel_serves_pages_from_any_folder(installed, tmp_path):
    python, bin_dir, env = installed
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        **env,
        "ISSUER_DATABASE_URL": f"sqlite:///{work / 'issuer.db'}",
        "ISSUER_KEYS_DIR": str(work / "keys"),
        "ISSUER_SECRET_KEY": "wheel-test-session-secret",
    }
    _run([str(bin_dir / "issuer"), "init"], cwd=work, env=env)
    demo = _run([str(bin_dir / "issuer"), "demo"], cwd=work, env=env)
    holder_url = next(line.split()[-1] for line in demo.splitlines() if line.startswith("holder page:"))
    holder_path = "/" + holder_url.split("://", 1)[1].split("/", 1)[1]

    out = json.loads(_run([str(python), "-c", CHECK, str(REPO_ROOT), holder_path], cwd=work, env=env))

    assert out["cwd"] == str(work)
    assert out["outside_repo"] and out["in_fresh_venv"], out["located"]
    assert not out["repo_on_path"]
    assert all(Path(t).is_relative_to(Path(out["located"]["templates"]).parent) for t in out["templates"])
    pages = out["pages"]
    for name, (status, body) in pages.items():
        assert status == 200, (name, body[:500])
    assert "Jane Doe" in pages["holder"][1]
    assert "<form" in pages["console_login"][1]
    assert "<html" in pages["verifier_home"][1].lower()
