"""A partition librdkafka stopped fetching is reconnected at its read position (issue 15).

After a broker restart librdkafka can leave an assign()ed partition unfetched for good
(confluentinc/librdkafka#5153): in `test_kafka_broker_restarted_mid_run_the_engine_resumes` one
message of one partition was never read and the watermark held on it. A partition the broker
says has more, that has delivered nothing for ``STUCK_SECONDS``, gets a new consumer at the next
offset to read. These tests drive one partition with a consumer that delivers nothing.
"""

import time

from confluent_kafka import TopicPartition

from flows import sources
from flows.sources import STUCK_SECONDS, TimeLimits, _KafkaPartition, _WorkerShares


class _Silent:
    """A consumer that delivers nothing, its last fetch saying the log is ``low..high``."""

    def __init__(self, low: int, high: int) -> None:
        self.ends, self.closed = (low, high), False

    def consume(self, n, timeout):
        return []

    def get_watermark_offsets(self, tp, cached=True):
        return self.ends

    def close(self):
        self.closed = True


class _Broker:
    """What the log-ends thread last heard from the broker (``None``: nothing)."""

    def __init__(self, ends=None) -> None:
        self.answer = ends

    def get(self, tp, default):
        return self.answer or default


def _partition(broker: _Broker, silent: _Silent) -> _KafkaPartition:
    part = _KafkaPartition({"bootstrap.servers": "127.0.0.1:1", "group.id": "stuck"}, "stuck-orders", 3, (7, 0),
                           ["w0"], 100, _WorkerShares(), broker, TimeLimits(300, 30))
    part.consumer.close()
    part.consumer = silent
    return part


def _silent_for_too_long(part: _KafkaPartition) -> None:
    part.next_batch()  # the first empty poll with more to read: the clock starts
    assert part.stuck_since is not None
    part.stuck_since -= STUCK_SECONDS + 1  # as if that was longer ago than allowed


def test_a_partition_with_more_to_read_that_delivers_nothing_gets_a_new_consumer_at_its_offset(caplog):
    silent = _Silent(0, 12)  # its last fetch said the log ends at 12; it has read up to 7
    part = _partition(_Broker(), silent)
    _silent_for_too_long(part)
    part.next_batch()
    assert silent.closed
    assert part.consumer is not silent
    assert part.consumer.assignment() == [TopicPartition("stuck-orders", 3, 7)]
    assert part.stuck_since is None
    assert "kafka stuck-orders/3: nothing delivered for 31 s at offset 7 while the log ends at 12" in caplog.text
    part.close()


def test_the_broker_saying_there_is_more_counts_when_the_fetch_said_nothing():
    silent = _Silent(-1, -1)  # no fetch since the broker restart
    part = _partition(_Broker((0, 9)), silent)
    _silent_for_too_long(part)
    part.next_batch()
    assert silent.closed and part.consumer.assignment() == [TopicPartition("stuck-orders", 3, 7)]
    part.close()


def test_a_partition_at_the_end_of_its_log_or_with_nobody_knowing_is_left_alone():
    for fetched, broker in (((0, 7), None), ((-1, -1), None)):
        silent = _Silent(*fetched)
        part = _partition(_Broker(broker), silent)
        part.next_batch()
        assert part.stuck_since is None
        assert part.consumer is silent and not silent.closed


def test_a_partition_held_by_an_outage_downstream_starts_counting_again_when_read_again():
    silent = _Silent(0, 12)
    part = _partition(_Broker(), silent)
    _silent_for_too_long(part)
    part.read_at = time.monotonic() - sources.HELD_SECONDS - 1  # the worker was held, not polling
    part.next_batch()
    assert part.consumer is silent and not silent.closed
    assert part.stuck_since is not None  # counting from this poll
