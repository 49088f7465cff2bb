"""The credential format shared by the issuer and the verifier.

Pure code: no Flask, no database, no network. It shapes and checks the VC 2.0 credential
(:mod:`vc.credential`), signs and verifies compact JWS (:mod:`vc.jose`) and encodes the
W3C Bitstring Status List (:mod:`vc.status_list`).
"""

from vc import credential, jose, status_list
from vc.errors import CredentialError

__all__ = ["CredentialError", "credential", "jose", "status_list"]
