"""One issuer process of the concurrency test: issues credentials for the practitioner ids
given on the command line, all at once with the other workers (it waits for "go" on stdin).

Usage: python issue_worker.py <database url> <keys dir> <fixed now ISO> <per list> <id>...

A list gives only ``per list`` slots before the next is started, so the processes race for
the last slots of lists and start new lists at the same moment; every index must then be
unique because the slot counter is taken atomically (and the primary key refuses a repeat).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

from issuer import config
from issuer.credentials import issuance, status_slots
from issuer.runtime import open_runtime


def main() -> None:
    url, keys_dir, now_text, per_list, *practitioner_ids = sys.argv[1:]
    now = datetime.fromisoformat(now_text)
    status_slots.STATUS_LIST_FILL = int(per_list) / status_slots.MIN_ENTRIES
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
