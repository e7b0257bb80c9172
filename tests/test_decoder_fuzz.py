"""Property-based fuzz of the decoder: it never raises, and every valid event round-trips.

Valid events are generated from the event structs' own schema (``msgspec.inspect``), so a
field or an event type added later is fuzzed without touching this file.
"""

import json
import pickle
from datetime import datetime, timedelta, timezone

import msgspec
import msgspec.inspect as mi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forewarn.core import events as ev

REASONS = {"too_large", "bad_encoding", "bad_json", "unknown_type", "missing_field", "bad_timestamp", "bad_value"}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# RFC 3339 offsets are whole minutes; msgspec accepts up to a day either way.
offsets = st.integers(-18 * 60, 18 * 60).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(datetime(2000, 1, 2), datetime(2099, 12, 30), timezones=st.just(timezone.utc))
timestamps = st.builds(lambda dt, tz: dt.astimezone(tz), instants, offsets)


# Fields :func:`ev.decode` checks beyond their msgspec type: valid values come from here.
CHECKED_BEYOND_TYPE = {
    "timezone": st.sampled_from(sorted(ev._zones())),
    "body": st.text(min_size=1, max_size=40).filter(lambda b: not b.isspace()),
}


def _bound(lo, hi):
    return {"min_value": lo, "max_value": hi}


def strategy(t: mi.Type) -> st.SearchStrategy:
    """A strategy for JSON-ready values that satisfy the msgspec type ``t``."""
    if isinstance(t, mi.StrType):
        if t.pattern:
            return st.from_regex(t.pattern, fullmatch=True)
        return st.text(min_size=t.min_length or 0, max_size=min(t.max_length or 40, 40))
    if isinstance(t, mi.IntType):
        return st.integers(**_bound(t.ge if t.ge is not None else -(10**9), t.le if t.le is not None else 10**9))
    if isinstance(t, mi.FloatType):
        return st.floats(allow_nan=False, allow_infinity=False,
                         **_bound(t.ge if t.ge is not None else -1e9, t.le if t.le is not None else 1e9))
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.DateTimeType):
        return timestamps.map(lambda dt: dt.isoformat())
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.ListType):
        return st.lists(strategy(t.item_type), min_size=max(t.min_length or 0, 0), max_size=3)
    if isinstance(t, mi.UnionType):
        return st.one_of([strategy(x) for x in t.types])
    if isinstance(t, mi.StructType):
        def field(f):
            return CHECKED_BEYOND_TYPE.get(f.encode_name) or strategy(f.type)
        required = {f.encode_name: field(f) for f in t.fields if f.required}
        optional = {f.encode_name: field(f) for f in t.fields if not f.required}
        obj = st.fixed_dictionaries(required, optional=optional)
        if t.tag_field:
            obj = obj.map(lambda d, t=t: {t.tag_field: t.tag, **d})
        return obj
    raise TypeError(f"no strategy for {t!r}: extend tests/test_decoder_fuzz.py")


valid_events = strategy(mi.type_info(ev.AnyEvent))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _check_never_raises(raw: bytes) -> None:
    result = ev.decode(raw)
    if isinstance(result, ev.Invalid):
        assert result.reason in REASONS, result
        assert result.error
    else:
        assert ev.MIN_TS_US <= result.ts_us < ev.MAX_TS_US


@FUZZ
@given(valid_events)
def test_every_valid_event_decodes_and_round_trips(obj):
    raw = json.dumps(obj).encode()
    event = ev.decode(raw)
    assert not isinstance(event, ev.Invalid), (event, obj)
    assert type(event).__struct_config__.tag == obj["type"]
    assert ev.decode(ev.encode(event)) == event
    assert pickle.loads(pickle.dumps(event, protocol=5)) == event  # between processes, in snapshots
    _assert_sent_is_decoded(obj, msgspec.to_builtins(event))


def _assert_sent_is_decoded(sent, back, path="$"):
    """Every field sent is decoded with its value (times as the same instant); omitted
    optional fields may appear with their defaults."""
    if isinstance(sent, dict):
        for name, value in sent.items():
            _assert_sent_is_decoded(value, back[name], f"{path}.{name}")
    elif isinstance(sent, list):
        assert len(back) == len(sent), path
        for i, (s, b) in enumerate(zip(sent, back)):
            _assert_sent_is_decoded(s, b, f"{path}[{i}]")
    elif path.endswith(("ts", "_at")) and sent is not None:
        assert datetime.fromisoformat(back) == datetime.fromisoformat(sent), path
    else:
        assert back == sent, path


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(raw):
    _check_never_raises(raw)


@FUZZ
@given(json_values)
def test_arbitrary_json_never_raises(value):
    _check_never_raises(json.dumps(value).encode())


@FUZZ
@given(valid_events, st.data())
def test_a_valid_event_with_one_field_broken_never_raises(obj, data):
    """Each field dropped, or replaced with any JSON value, or the bytes cut or flipped."""
    field = data.draw(st.sampled_from(sorted(obj)))
    how = data.draw(st.sampled_from(["drop", "replace", "truncate", "flip"]))
    if how == "drop":
        obj.pop(field)
    elif how == "replace":
        obj[field] = data.draw(json_values)
    raw = json.dumps(obj).encode()
    if how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw = raw[:i] + bytes([raw[i] ^ data.draw(st.integers(1, 255))]) + raw[i + 1:]
    _check_never_raises(raw)
