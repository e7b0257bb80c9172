"""What flows from the sources into the customer step: plain tuples, cheap to pickle and exchange.

``(tag, key, payload, ingest_wall_s)`` where ``tag`` is one of:

* ``EVENT``    payload is a decoded event; key is the customer (or the single backtest shard)
* ``WAKE``     payload is None; the watermark (or, with apply_on_arrival, the frontier) has
  passed a due time of that key (live)
* ``PROGRESS`` payload is ``(partition, high_us, quiet_since)``: how far a partition has read;
  key is one of ``flows.broadcast.clock_keys``, so each worker gets it (live)
* ``SHARE``    payload is ``(position, event or None, ticks)``: one partition's share of a finite
  input (``forewarn backtest --workers N``); ``ticks`` are ``(position, watermark)`` of the
  other partitions' events that moved the watermark since the last item, so this
  partition's clock moves exactly as the whole input's does
* ``END``      payload is None (with shares: ``(position, ticks)``); end of a finite input
* ``INVALID``  payload is ``(raw, error, source, reason)`` for the dead-letter stream

A finite, ordered source (a file, the simulator) adds a fifth element to its ``EVENT``,
``SHARE`` and ``END`` items: ``watermark_us``, the watermark it stamped on the item (at
``END``, the final one), which the customer step puts on the batch's
:class:`forewarn.engine.context.Context`. Live items have none: a live customer step reads
its worker's clock instead (``forewarn/engine/watermark.py``).
"""

EVENT = "e"
WAKE = "w"
PROGRESS = "p"
SHARE = "s"
END = "end"
INVALID = "x"
