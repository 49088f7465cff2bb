"""System tools some tests need (Debian's chromium, chromium-driver, poppler-utils).

``make test`` / ``.ci/run`` install them when missing (as root). When they are still absent
the tests that need them fail in CI (``CI`` or ``BXC_REQUIRE_SYSTEM_TOOLS`` set) and are
skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, package: str) -> str:
    """The tool's path; fails in CI, skips locally, when it is not installed."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is missing: install Debian's {package} (make test does it as root)"
    if os.environ.get("CI") or os.environ.get("BXC_REQUIRE_SYSTEM_TOOLS"):
        pytest.fail(message)
    pytest.skip(message)


def require_file(path: os.PathLike[str] | str, package: str) -> str:
    """A file a Debian package installs (a font); fails in CI, skips locally, when absent."""
    if os.path.exists(path):
        return os.fspath(path)
    message = f"{path} is missing: install Debian's {package} (make test does it as root)"
    if os.environ.get("CI") or os.environ.get("BXC_REQUIRE_SYSTEM_TOOLS"):
        pytest.fail(message)
    pytest.skip(message)
