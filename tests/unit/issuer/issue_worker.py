"""One issuer process of the concurrency test: issues credentials for the practitioner ids
given on the command line, all at once with the other workers (it waits for "go" on stdin).

Usage: python issue_worker.py <database url> <keys dir> <fixed now ISO> <slots> <per list> <id>...

To make collisions frequent rather than astronomically rare, the index draw is narrowed to
``slots`` positions and a list takes only ``per list`` entries before the next is started;
uniqueness must then come from the database (primary key + retry), not from luck.
"""

from __future__ import annotations

import json
import secrets
import sys
from datetime import datetime

from issuer import config
from issuer.credentials import issuance, status_lists
from issuer.runtime import open_runtime


def main() -> None:
    url, keys_dir, now_text, slots, per_list, *practitioner_ids = sys.argv[1:]
    now = datetime.fromisoformat(now_text)
    status_lists.STATUS_LIST_FILL = int(per_list) / status_lists.MIN_ENTRIES
    real_randbelow = secrets.randbelow
    status_lists.secrets.randbelow = lambda n: real_randbelow(min(n, int(slots)))  # type: ignore[attr-defined]
    rt = open_runtime(config.load({"database_url": url, "keys_dir": keys_dir}, environ={}), clock=lambda: now)
    print("ready", flush=True)
    sys.stdin.readline()
    issued = []
    for practitioner_id in practitioner_ids:
        with rt.sessions() as session:
            row = issuance.issue(session, rt.ctx, practitioner_id, "botox-cosmetic-injector", "worker")
            issued.append(row.id)
    rt.engine.dispose()
    print(json.dumps(issued), flush=True)


if __name__ == "__main__":
    main()
