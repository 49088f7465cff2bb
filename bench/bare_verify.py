"""The bare baseline of ``bench/verify_http.py``: Flask + PyJWT and nothing else.

``POST /verify`` with ``{"credential": "<compact JWT>"}`` decodes it with PyJWT against the
issuer's ES256 public key (signature and ``exp``), and answers its ``jti`` as JSON. No trust
registry, no status lists, no strict JSON, no page. Served exactly as ``verifier serve``
serves the verifier (:func:`serving.server.run`: gunicorn, gthread workers, the same workers
and threads): ``python bench/bare_verify.py PORT WORKERS THREADS``. The public JWK comes from
the file named by ``BENCH_JWK``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import jwt
from flask import Flask, jsonify, request

with open(os.environ["BENCH_JWK"], encoding="utf-8") as handle:
    KEY = jwt.PyJWK(json.load(handle)).key

app = Flask("bare")


@app.post("/verify")
def verify() -> Any:
    body = request.get_json()
    claims = jwt.decode(body["credential"], KEY, algorithms=["ES256"], options={"verify_aud": False})
    return jsonify(valid=True, id=claims.get("jti"))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from serving import server

    port, workers, threads = (int(value) for value in sys.argv[1:4])
    server.run(lambda: app, name="bare-verify", host="127.0.0.1", port=port, workers=workers, threads=threads)
