"""The helpdesk side of forewarn: the trigger queues in Redis and the tools to work them.

``from forewarn.queue import TriggerQueue`` is all a Python worker needs; other languages use
the plain Redis commands documented in docs/helpdesk.md.
"""

from forewarn.queue.client import DeadLetter, Job, Peeked, TriggerQueue

__all__ = ["DeadLetter", "Job", "Peeked", "TriggerQueue"]
