"""`forewarn simulate --to kafka` and the live tests produce the simulator's stream, which plants a
1 MB message body: a line larger than Kafka accepts is left out and counted, and the stream goes on."""

import logging

from forewarn.apps.producer import produce


def test_a_line_larger_than_kafka_accepts_is_left_out_not_the_end_of_the_stream(caplog):
    huge = b'{"type": "support.message", "customer_id": "c1", "body": "' + b"x" * 1_100_000 + b'"}'
    # No broker at this address: the size is refused by the client before anything is sent, and
    # with nothing queued the final flush returns at once.
    with caplog.at_level(logging.WARNING, "forewarn.producer"):
        sent = produce([huge], "127.0.0.1:1")
    assert sent == 0
    assert "1 event(s) left out: larger than Kafka accepts" in caplog.text
