"""Produce event lines to Kafka: each to its type's topic, keyed by customer_id, at an optional rate."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable

from forewarn.core.events import TOPIC_OF_TYPE

log = logging.getLogger("forewarn.producer")


def topic_and_key(raw: bytes, default_topic: str) -> tuple[str, bytes | None]:
    """Route by the line's ``type``; a line too broken to read goes to ``default_topic`` unkeyed."""
    try:
        obj = json.loads(raw)
        return TOPIC_OF_TYPE.get(obj.get("type"), default_topic), str(obj["customer_id"]).encode()
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return default_topic, None


def _send(producer, topic: str, raw: bytes, key: bytes | None) -> bool:
    """Queue one line; False if it is larger than the producer may send (``message.max.bytes``).

    Such a line could reach neither the broker nor the engine (the simulator plants 1 MB
    bodies): it is left out and counted rather than ending the whole stream there.
    """
    from confluent_kafka import KafkaError, KafkaException

    while True:
        try:
            producer.produce(topic, raw, key)
            return True
        except BufferError:
            producer.poll(0.1)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.MSG_SIZE_TOO_LARGE:
                raise
            return False


def produce(lines: Iterable[bytes], bootstrap: str, rate: float = 0.0, topic_prefix: str = "",
            progress: Callable[[int], None] | None = None) -> int:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True,
                         "compression.type": "lz4"})
    sent = too_large = 0
    start = time.monotonic()
    for raw in lines:
        topic, key = topic_and_key(raw, "orders")
        if not _send(producer, topic_prefix + topic, raw, key):
            too_large += 1
            continue
        sent += 1
        if sent % 10_000 == 0:
            producer.poll(0)
            if progress:
                progress(sent)
        if rate > 0:
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    if too_large:
        log.warning("%d event(s) left out: larger than Kafka accepts (message.max.bytes, 1 MB by default)", too_large)
    remaining = producer.flush(60)
    if remaining:
        raise RuntimeError(f"{remaining} events not delivered to Kafka at {bootstrap} after 60 s; is the broker up?")
    return sent
