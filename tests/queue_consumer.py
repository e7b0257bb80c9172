"""A helpdesk consumer as a separate process, for tests that need real concurrency or a real crash.

    python -m tests.queue_consumer drain URL PREFIX CONSUMER   # on "go": pull 5 at a time, ack, until empty
    python -m tests.queue_consumer hold URL PREFIX CONSUMER N  # pull N, print them, then hang (to be killed)

Prints one ``handle trigger_id deliveries`` line per entry taken, flushed at once.
"""

import sys

from forewarn.queue import TriggerQueue


def main(mode: str, url: str, prefix: str, consumer: str, n: str = "5") -> None:
    q = TriggerQueue(url, prefix=prefix, consumer=consumer, visibility_timeout=600)
    if mode == "drain":
        print("ready", flush=True)
        sys.stdin.readline()  # both consumers start together
        while jobs := q.pull(count=5, block_ms=200):
            for job in jobs:
                print(job.handle, job.trigger_id, job.deliveries, flush=True)
            q.ack(*jobs)
    else:
        for job in q.pull(count=int(n)):
            print(job.handle, job.trigger_id, job.deliveries, flush=True)
        print("holding", flush=True)
        sys.stdin.readline()  # never sent: the test kills this process mid-work


if __name__ == "__main__":
    main(*sys.argv[1:])
