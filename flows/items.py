"""What flows from the sources into the customer step: plain tuples, cheap to pickle and exchange.

``(tag, key, payload, watermark_us, ingest_wall_s)`` where ``tag`` is one of:

* ``EVENT``   payload is a decoded event; key is the customer (or the single backtest shard)
* ``WAKE``    payload is None; the watermark has passed a deadline of that key
* ``END``     payload is None; end of a finite input, watermark is the final one
* ``INVALID`` payload is ``(raw, error, source, reason)`` for the dead-letter stream
"""

EVENT = "e"
WAKE = "w"
END = "end"
INVALID = "x"
