"""The active signing key of a running issuer, re-read when the key directory changes
(a ``stat`` per request), so ``issuer keys rotate``, ``retire`` and ``compromised`` take
effect on the next request of every issuer process without a restart.
"""

from __future__ import annotations

import threading

from issuer.errors import ConfigurationError
from keys import KeyStore, KeyStoreError, LocalSigner


class NoActiveKey:
    """Stands in for the signer when no key is active: it refuses to sign."""

    alg = "none"
    kid = ""

    def sign(self, signing_input: bytes) -> bytes:
        """Always raises :class:`ConfigurationError`."""
        raise ConfigurationError("no active signing key: run 'issuer keys rotate'")


class KeyRing:
    """The active signing key of a running issuer, re-read when the key directory changes."""

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._fingerprint: tuple[tuple[str, int, int, int], ...] | None = None
        self._signer: LocalSigner | NoActiveKey = NoActiveKey()

    def signer(self) -> LocalSigner | NoActiveKey:
        """The current active key (re-read first if any key file changed).

        Raises :class:`ConfigurationError` if a key file is readable by others or cannot
        be opened with the passphrase.
        """
        fingerprint = self.store.fingerprint()
        with self._lock:
            if fingerprint != self._fingerprint:
                try:
                    self.store.check_permissions()
                    actives = [r for r in self.store.records() if r.state == "active"]
                    self._signer = self.store.load(actives[-1].kid) if actives else NoActiveKey()
                except KeyStoreError as exc:
                    raise ConfigurationError(str(exc)) from exc
                self._fingerprint = fingerprint
            return self._signer
