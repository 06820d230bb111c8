"""`[core] hostname_callable` for the cluster smoke's Celery workers.

Both workers run on one machine and so share its host name; the smoke names each one in
FOLLOWBACK_SMOKE_WORKER so that the task instances it ran record which worker that was.
"""

import os


def worker_hostname() -> str:
    return os.environ["FOLLOWBACK_SMOKE_WORKER"]
