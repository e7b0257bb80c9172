"""The pure parts of the helpdesk side: handles, lanes, the [queue] config."""

import pytest

from forewarn.engine.config import ConfigError, from_dict
from forewarn.queue import TriggerQueue
from forewarn.queue.client import parse_handle
from sinks.redis_queue import all_queue_keys, lane_names


def test_lanes_run_most_urgent_first_human_before_ai():
    assert lane_names() == ["human:p1", "ai:p1", "human:p2", "ai:p2", "human:p3", "ai:p3", "human:p4", "ai:p4"]
    assert lane_names("ai") == ["ai:p1", "ai:p2", "ai:p3", "ai:p4"]
    assert all_queue_keys("{shop1}:")[0] == "{shop1}:forewarn:queue:human:p1"


@pytest.mark.parametrize("handle", ["human:p1", "human:p1/", "human:p9/1-0", "ai:p2/1", "ai:p2/x-0", "ai:p2/1-0-0"])
def test_a_malformed_handle_is_refused_with_an_example(handle):
    with pytest.raises(ValueError, match="human:p1/1718000000000-0"):
        parse_handle(handle)


def test_a_handle_splits_into_lane_and_entry():
    assert parse_handle("ai:p4/1718000000000-12") == ("ai:p4", "1718000000000-12")


def test_queue_settings_are_validated_with_the_key():
    assert from_dict({"queue": {"max_deliveries": 3}}).queue.max_deliveries == 3
    with pytest.raises(ConfigError, match=r"queue.max_deliveries = 0"):
        from_dict({"queue": {"max_deliveries": 0}})
    with pytest.raises(ConfigError, match=r"queue.group"):
        from_dict({"queue": {"group": ""}})


def test_a_queue_refuses_settings_it_cannot_honour():
    with pytest.raises(ValueError, match="route 'bots'"):
        TriggerQueue(route="bots")
    with pytest.raises(ValueError, match="visibility_timeout must be > 0"):
        TriggerQueue(visibility_timeout=0)
