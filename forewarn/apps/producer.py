"""Produce event lines to Kafka: each to its type's topic, keyed by customer_id, at an optional rate."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from forewarn.core.events import TOPIC_OF_TYPE


def topic_and_key(raw: bytes, default_topic: str) -> tuple[str, bytes | None]:
    """Route by the line's ``type``; a line too broken to read goes to ``default_topic`` unkeyed."""
    try:
        obj = json.loads(raw)
        return TOPIC_OF_TYPE.get(obj.get("type"), default_topic), str(obj["customer_id"]).encode()
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return default_topic, None


def produce(lines: Iterable[bytes], bootstrap: str, rate: float = 0.0, topic_prefix: str = "",
            progress: Callable[[int], None] | None = None) -> int:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True,
                         "compression.type": "lz4"})
    sent = 0
    start = time.monotonic()
    for raw in lines:
        topic, key = topic_and_key(raw, "orders")
        while True:
            try:
                producer.produce(topic_prefix + topic, raw, key)
                break
            except BufferError:
                producer.poll(0.1)
        sent += 1
        if sent % 10_000 == 0:
            producer.poll(0)
            if progress:
                progress(sent)
        if rate > 0:
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    remaining = producer.flush(60)
    if remaining:
        raise RuntimeError(f"{remaining} events not delivered to Kafka at {bootstrap} after 60 s; is the broker up?")
    return sent
