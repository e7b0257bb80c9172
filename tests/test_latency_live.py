"""On the real broker, at the default settings: a chargeback stamped now reaches its queue now.

A new user's story (issue 13): with `allowed_lateness_seconds` 300 and `idle_timeout_seconds`
5, a `payment.disputed` produced by another program reached `forewarn:queue:human:p1` 305 s
later, because every event waited for the watermark. An event is now applied on arrival
unless its customer has a deadline due before it, so the 30 s ceiling below is only there
to fail instead of hanging; the old design could not meet it.
"""

import pytest

from forewarn.apps.producer import produce
from forewarn.core.timefmt import format_us, now_us
from tests.conftest import live_config, queued_triggers, wait_for
from tests.factory import consent, disputed, lines, order, paid, shipped
from tests.faults import free_port, metrics

pytestmark = pytest.mark.services

DEFAULT_TIME = {"allowed_lateness_seconds": 300, "idle_timeout_seconds": 5}


def test_a_dispute_stamped_now_is_queued_long_before_the_lateness_has_passed(services, namespace, start_engine, redis_client):
    port = free_port()
    before = now_us() - 60_000_000
    minute_ago = format_us(before)
    # The customer's history, on every topic the engine reads, so it is running and caught up.
    produce(lines([consent(minute_ago, email=True), order(minute_ago, total=120.0), paid(minute_ago, amount=120.0),
                   shipped(minute_ago, eta=format_us(before + 3 * 86_400_000_000))]),
            services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(live_config(namespace, services, engine=DEFAULT_TIME, metrics={"port": port}))

    def events_read() -> float:
        try:
            return metrics(port).get("forewarn_events_total", 0)
        except OSError:
            return 0
    wait_for(lambda: events_read() >= 4, 60, what=f"the engine reading the history\n{engine.output()}")

    stamped = format_us(now_us())
    produce(lines([disputed(stamped, amount=120.0, reason="fraudulent")]), services["kafka"],
            topic_prefix=f"{namespace}-")
    [trig] = wait_for(lambda: [t for t in queued_triggers(redis_client, f"{namespace}:") if t["kind"] == "payment_disputed"],
                      30, what=f"the dispute's trigger within 30 s (lateness 300 s)\n{engine.output()}")
    assert (trig["customer_id"], trig["order_id"], trig["fired_at"]) == ("c1", "o1", stamped)
    assert (trig["route"], trig["priority"]) == ("human", "p1")
    assert redis_client.xlen(f"{namespace}:forewarn:queue:human:p1") == 1
    assert metrics(port)["forewarn_late_events_total"] == 0
    assert engine.alive(), engine.output()
    assert engine.stop() in (0, 130), engine.output()
