"""The ``issuer`` command line, one module per command group: :mod:`~issuer.cli.setup`
(init, serve, demo), :mod:`~issuer.cli.accounts` (token, staff),
:mod:`~issuer.cli.signing_keys` (keys), :mod:`~issuer.cli.records` (eligibility, records),
:mod:`~issuer.cli.credentials`, :mod:`~issuer.cli.status_lists` and
:mod:`~issuer.cli.audit_log`. Errors are translated once, in
:class:`issuer.cli.base.IssuerGroup`: one line on stderr, a non-zero exit.
"""

from __future__ import annotations

from issuer.cli import accounts, audit_log, credentials, records, setup, signing_keys, status_lists
from issuer.cli.base import main

__all__ = ["main"]
# The modules register their commands on ``main`` when imported.
_COMMAND_MODULES = (accounts, audit_log, credentials, records, setup, signing_keys, status_lists)

if __name__ == "__main__":  # pragma: no cover
    main()
