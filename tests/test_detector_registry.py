"""The registry is where a kind declares itself: a kind that forgets its default route is
refused when it is registered, not when its first trigger is routed."""

import msgspec
import pytest

from detectors import REGISTRY, register
from detectors.base import Detector
from forewarn.engine.config import DEFAULT_COOLDOWN_HOURS, DEFAULT_KIND_ROUTES, ConfigError, from_dict


class NoThresholds(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[detectors.refund_delayed]``: none."""


def test_a_kind_without_its_default_lane_is_refused_at_registration_naming_what_is_missing():
    class RefundDelayed(Detector):
        kind = "refund_delayed"
        Params = NoThresholds
        SUBJECT = "order"

    with pytest.raises(TypeError, match=r"'refund_delayed' \(RefundDelayed\) must declare PRIORITY .*; ROUTE "):
        register(RefundDelayed)
    assert "refund_delayed" not in REGISTRY


def test_routes_cooldowns_and_the_config_kind_check_come_from_the_registry():
    assert list(DEFAULT_KIND_ROUTES) == list(REGISTRY) == list(DEFAULT_COOLDOWN_HOURS)
    for kind, cls in REGISTRY.items():
        assert (DEFAULT_KIND_ROUTES[kind].priority, DEFAULT_KIND_ROUTES[kind].route) == (cls.PRIORITY, cls.ROUTE)
        assert DEFAULT_COOLDOWN_HOURS[kind] == cls.COOLDOWN_HOURS
    with pytest.raises(ConfigError, match=r"routing.kinds: unknown kind\(s\) \['refund_delayed'\]"):
        from_dict({"routing": {"kinds": {"refund_delayed": {"priority": "p1", "route": "human"}}}})
