"""What flows from the sources into the customer step: plain tuples, cheap to pickle and exchange.

``(tag, key, payload, watermark_us, ingest_wall_s)`` where ``tag`` is one of:

* ``EVENT``    payload is a decoded event; key is the customer (or the single backtest shard)
* ``WAKE``     payload is None; the watermark has passed a due time of that key (live)
* ``PROGRESS`` payload is ``(partition, high_us, quiet_since)``: how far a partition has read;
  key is one of ``flows.broadcast.clock_keys``, so each worker gets it (live)
* ``SHARE``    payload is ``(position, event or None, ticks)``: one partition's share of a finite
  input (``forewarn backtest --workers N``); ``ticks`` are ``(position, watermark)`` of the
  other partitions' events that moved the watermark since the last item, so this
  partition's clock moves exactly as the whole input's does
* ``END``      payload is None (with shares: ``(position, ticks)``); end of a finite input,
  watermark is the final one
* ``INVALID``  payload is ``(raw, error, source, reason)`` for the dead-letter stream

``watermark_us`` is the stamp a finite, ordered source puts on each item; live items leave it
unused (a live customer step reads its worker's clock instead, see ``forewarn/engine/watermark.py``).
"""

EVENT = "e"
WAKE = "w"
PROGRESS = "p"
SHARE = "s"
END = "end"
INVALID = "x"
