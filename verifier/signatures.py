"""Signatures this process has already checked, so a credential scanned again is not
checked again while the key that verified it is still the one its issuer publishes.

A signature check is a pure function of the token's bytes, the accepted algorithms and the
public key. The memo keeps, for the SHA-256 digest of each token it verified, the ``kid``
and the key *object* that verified it. On a later request for the same token the key is
looked up again through the same trusted-issuer lookup as a first check (so a withdrawn or
rotated-out key, or keys that cannot be fetched, are noticed exactly as before), and the
remembered result is used only when that lookup returns the very same key object: the
verifier's JWKS cache makes a new object whenever it re-reads the issuer's keys. Failed
checks are never remembered. Bounded (least recently used), thread-safe.

Why: a credential on a clinic wall is scanned many times, and the signature check
(PyJWT's decode, most of it its base64 checks) is the largest part of a verdict's CPU.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Collection

from jwt.api_jwk import PyJWK

from vc import jose

#: Tokens remembered per verifier process (a digest, a kid and a reference each).
DEFAULT_SIZE = 8192


class SignatureMemo:
    """``jose.verify`` that remembers successful checks (see the module docstring)."""

    def __init__(self, typ: str, algorithms: Collection[str], size: int = DEFAULT_SIZE) -> None:
        self._typ = typ
        self._algorithms = frozenset(algorithms)
        self._size = size
        self._seen: OrderedDict[bytes, tuple[str, PyJWK]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str, key_for: jose.KeyLookup) -> None:
        """Raise what :func:`vc.jose.verify` raises, or return when the signature is good."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            seen = self._seen.get(digest)
        if seen is not None:
            kid, key = seen
            if key_for(kid) is key:
                with self._lock:
                    if digest in self._seen:
                        self._seen.move_to_end(digest)
                return
        used: list[tuple[str, PyJWK]] = []

        def recording(kid: str) -> PyJWK | None:
            found = key_for(kid)
            if found is not None:
                used.append((kid, found))
            return found

        jose.verify(token, typ=self._typ, algorithms=self._algorithms, key_for=recording)
        if used:
            with self._lock:
                self._seen[digest] = used[-1]
                self._seen.move_to_end(digest)
                while len(self._seen) > self._size:
                    self._seen.popitem(last=False)
