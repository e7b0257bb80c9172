"""Ground truth: what *should* fire over an event file, by an oracle independent of the engine.

The oracle reads the valid events of a file (invalid lines dropped, redeliveries of the
same ``event_id`` dropped, the rest stably sorted by event time) and applies each kind's
rule directly to whole per-shipment and per-order histories, with no watermark, no timer
heap and no detector code. Rules (docs/situations.md states them for users):

* ``delivery_late`` — a shipment not delivered by ETA + ``grace_hours`` (the ETA is the latest
  ``estimated_delivery_at`` seen up to that deadline; a changed ETA re-arms with a new
  deadline) and not cancelled before it. ``fired_at`` = the deadline.
* ``shipment_stalled`` — a shipment whose latest status is created / in_transit /
  out_for_delivery and which has no shipment event for ``stall_hours``. ``fired_at`` = last
  shipment event + ``stall_hours``; once per quiet spell.
* ``shipment_exception`` / ``payment_disputed`` — every such event, at its time.
* ``payment_failed`` — per order, the first failure opens an episode; ``fraud_suspected`` or
  ``attempt >= max_attempts`` fires at once; otherwise it fires at first failure +
  ``recovery_minutes`` unless a success or a cancellation of the order comes first.
* ``data_quality`` — every ``order.placed`` whose e-mail is unverified (the order's own
  ``email_verified``, else the latest value known for the customer) or whose shipping address
  lacks ``postal_code`` or ``city``.
* ``delivery_at_risk`` — the predictive warning: the same shipments as ``delivery_late``,
  with ``fired_at`` = the ETA of the episode that turned late.
* ``order_anomaly``, ``churn_risk``, ``vip_engagement_drop`` — model based: the situations
  the simulator *planted* (see :func:`compute`'s ``planted``); a churner's ``fired_at`` is
  their last order, a VIP drop's the start of the drop.

Every deadline counts only if it is at or before the end of the input (the last event time):
later ones have not happened yet. An event at exactly a deadline still counts as in time.

>>> rows = compute([
...     b'{"event_id":"1","type":"shipment.created","ts":"2026-01-01T00:00:00Z","customer_id":"c",'
...     b'"order_id":"o","shipment_id":"s","estimated_delivery_at":"2026-01-02T00:00:00Z"}',
...     b'{"event_id":"2","type":"customer.activity","ts":"2026-01-03T00:00:00Z","customer_id":"c",'
...     b'"kind":"session"}'])
>>> [(r["kind"], r["fired_at"]) for r in rows]
[('delivery_at_risk', '2026-01-02T00:00:00Z'), ('delivery_late', '2026-01-02T12:00:00Z'), ('shipment_stalled', '2026-01-03T00:00:00Z')]
"""

from __future__ import annotations

import gc
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from detectors import REGISTRY
from forewarn.core import events as ev
from forewarn.core.timefmt import HOUR, MINUTE, format_us

KINDS = (
    "delivery_late", "delivery_at_risk", "shipment_stalled", "shipment_exception",
    "payment_failed", "payment_disputed", "order_anomaly", "churn_risk",
    "vip_engagement_drop", "data_quality",
)

# The thresholds each rule reads (``forewarn whatif`` scores a sweep of them against these rules).
THRESHOLDS: dict[str, tuple[str, ...]] = {
    "delivery_late": ("grace_hours",),
    "shipment_stalled": ("stall_hours",),
    "payment_failed": ("recovery_minutes", "max_attempts"),
}


def threshold(config: Any, kind: str, name: str) -> Any:
    """``config.detectors.<kind>.<name>`` if the config has it, else the kind's documented default."""
    detectors = getattr(config, "detectors", None) if config is not None else None
    params = getattr(detectors, kind, None) if detectors is not None else None
    value = getattr(params, name, None) if params is not None else None
    return getattr(REGISTRY[kind].Params(), name) if value is None else value


def timeline(lines: Iterable[bytes]) -> list[tuple[int, ev.AnyEvent]]:
    """The valid events, each ``event_id`` once per customer (its first delivery; the engine's
    dedupe is the customer's too, so another customer's event under the same id counts), stably
    sorted by event time."""
    seen: set[tuple[str, str]] = set()
    out: list[tuple[int, ev.AnyEvent]] = []
    decode = ev.decode
    for raw in lines:
        e = decode(raw)
        if isinstance(e, ev.Invalid):
            continue
        key = (e.customer_id, e.event_id)
        if key in seen:
            continue
        seen.add(key)
        out.append((e.ts_us, e))
    out.sort(key=lambda pair: pair[0])
    return out


def compute(
    lines: Iterable[bytes],
    config: Any = None,
    planted: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Ground-truth rows for the raw event lines of one file (JSON bytes, no newline).

    ``planted`` (from the simulator) names the situations it set up on purpose:
    ``order_anomaly``: {order_id: detail}; ``churn_risk``: {customer_id: detail};
    ``vip_engagement_drop``: {customer_id: [drop_start_us, detail]}; and for the rule-based
    kinds a collection of subjects, used only to label rows ``planted: true``.
    """
    with paused_gc():
        return _compute(lines, config, planted or {})


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building ~10^5 small objects (none of them in
    cycles) otherwise triggers full collections that double the run time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _compute(lines: Iterable[bytes], config: Any, planted: Mapping[str, Any]) -> list[dict[str, Any]]:
    tl = timeline(lines)
    if not tl:
        return []
    return finish(_open_rows(tl, config, planted), tl[-1][0])


def open_rows(lines: Iterable[bytes], config: Any = None,
              planted: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of :func:`compute` as if the input never ended (every deadline reached), with
    ``fired_at_us`` instead of ``fired_at``: for a file built in parts (the simulator works
    through its customers in batches), whose end is known only at the end.
    :func:`finish` with that end gives exactly :func:`compute`'s rows, because every rule
    depends on the end only through "a deadline counts if it is at or before the end"."""
    return _open_rows(timeline(lines), config, planted or {})


def finish(rows: list[dict[str, Any]], end_us: int) -> list[dict[str, Any]]:
    """Rows of :func:`open_rows` up to ``end_us`` (the input's last event time), in
    :func:`compute`'s order, with ``fired_at`` as RFC 3339."""
    kept = [r for r in rows if r.pop("due_us") <= end_us]
    kept.sort(key=lambda r: (r["fired_at_us"], r["kind"], r["customer_id"], r["subject"]))
    for r in kept:
        r["fired_at"] = format_us(r.pop("fired_at_us"))
    return kept


def _open_rows(tl: list[tuple[int, ev.AnyEvent]], config: Any, planted: Mapping[str, Any]) -> list[dict[str, Any]]:
    # Per event type, (timeline position, ts, event) in timeline order.
    by_type: dict[type, list[tuple[int, int, Any]]] = defaultdict(list)
    for pos, (ts, e) in enumerate(tl):
        by_type[type(e)].append((pos, ts, e))
    rows: list[dict[str, Any]] = []
    for rule_rows in RULES:
        rows += rule_rows(by_type, config, planted)
    return rows


Rule = Callable[[Mapping[type, list[tuple[int, int, Any]]], Any, Mapping[str, Any]], list[dict[str, Any]]]
# The rules, each ``(events by type, config, planted) -> rows`` (see :func:`row`): a kind's
# ground truth is a function added here with ``@rule``. ``events by type`` maps an event type
# to its ``(timeline position, ts, event)`` in timeline order.
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    """Add a ground-truth rule (a decorator)."""
    RULES.append(fn)
    return fn


def row(kind: str, customer_id: str, order_id: str | None, subject: str, fired_at_us: int,
         planted: Mapping[str, Any], detail: str, due_us: int | None = None) -> dict[str, Any]:
    """A truth row; ``due_us`` is when the rule decided it (the deadline that must lie within
    the input), when that is not ``fired_at_us`` itself (``delivery_at_risk``)."""
    return {
        "due_us": fired_at_us if due_us is None else due_us,
        "kind": kind,
        "customer_id": customer_id,
        "order_id": order_id,
        "subject": subject,
        "fired_at_us": fired_at_us,
        "planted": subject in planted.get(kind, ()),
        "detail": detail,
    }


@rule
def _shipments(by_type, config: Any, planted) -> list[dict[str, Any]]:
    grace = int(threshold(config, "delivery_late", "grace_hours") * HOUR)
    stall = int(threshold(config, "shipment_stalled", "stall_hours") * HOUR)
    # Per (customer, shipment): its events and the cancellations of its order, in timeline order
    # (a cancellation is entered as event None).
    ship_events: dict[tuple[str, str], list[tuple[int, int, Any]]] = defaultdict(list)
    for t in (ev.ShipmentCreated, ev.ShipmentUpdated, ev.ShipmentException, ev.ShipmentDelivered):
        for item in by_type.get(t, ()):
            e = item[2]
            ship_events[(e.customer_id, e.shipment_id)].append(item)
    cancels: dict[tuple[str, str], list[tuple[int, int, None]]] = defaultdict(list)
    for pos, ts, e in by_type.get(ev.OrderCancelled, ()):
        cancels[(e.customer_id, e.order_id)].append((pos, ts, None))
    rows: list[dict[str, Any]] = []
    for (cid, sid), seq in ship_events.items():
        seq.sort(key=_pos)
        oid = seq[0][2].order_id
        first_pos = seq[0][0]
        # A cancellation matters once the shipment is being watched (after its first event).
        more = [c for c in cancels.get((cid, oid), ()) if c[0] > first_pos]
        if more:
            seq = sorted(seq + more, key=_pos)
        rows += _delivery_late(cid, oid, sid, seq, grace, planted)
        rows += _stalled(cid, oid, sid, seq, stall, planted)
    return rows


def _pos(item: tuple[int, int, Any]) -> int:
    return item[0]


def _delivery_late(cid, oid, sid, seq, grace, planted) -> list[dict[str, Any]]:
    rows = []
    eta: int | None = None
    deadline: int | None = None

    def fire(at: int, eta_us: int, status: str) -> None:
        detail = (f"due {format_us(eta_us)}, not delivered by {format_us(at)} "
                  f"(grace {grace / HOUR:g} h; last status {status})")
        rows.append(row("delivery_late", cid, oid, sid, at, planted, detail))
        rows.append(row("delivery_at_risk", cid, oid, sid, eta_us, planted,
                         f"will be late: due {format_us(eta_us)}, deadline {format_us(at)}", due_us=at))

    status = "created"
    for _, ts, e in seq:
        if deadline is not None and deadline < ts:
            fire(deadline, eta, status)
            deadline = None
        if e is None:  # order cancelled
            break
        if isinstance(e, ev.ShipmentCreated):
            eta = ev.to_us(e.estimated_delivery_at)
            deadline = eta + grace
            status = "created"
        elif isinstance(e, ev.ShipmentUpdated):
            status = e.status
            if e.estimated_delivery_at is not None:
                new = ev.to_us(e.estimated_delivery_at)
                if new != eta:
                    eta = new
                    deadline = eta + grace
        elif isinstance(e, ev.ShipmentException):
            status = f"exception ({e.code})"
        elif isinstance(e, ev.ShipmentDelivered):
            deadline = None
            break
    else:
        if deadline is not None:  # still armed when the input ends: finish() keeps it if due by then
            fire(deadline, eta, status)
    return rows


def _stalled(cid, oid, sid, seq, stall, planted) -> list[dict[str, Any]]:
    rows = []
    deadline: int | None = None
    status = ""
    last = 0

    def fire(at: int) -> None:
        detail = f"no carrier update since {format_us(last)} (status {status}; stall {stall / HOUR:g} h)"
        rows.append(row("shipment_stalled", cid, oid, sid, at, planted, detail))

    for _, ts, e in seq:
        if deadline is not None and deadline < ts:
            fire(deadline)
            deadline = None
        if e is None or isinstance(e, ev.ShipmentDelivered):
            deadline = None
            break
        last = ts
        if isinstance(e, ev.ShipmentException):
            status = "exception"
            deadline = None
        else:
            status = "created" if isinstance(e, ev.ShipmentCreated) else e.status
            deadline = ts + stall
    else:
        if deadline is not None:  # kept by finish() if due by the end of the input
            fire(deadline)
    return rows


@rule
def _payments(by_type, config: Any, planted) -> list[dict[str, Any]]:
    window = int(threshold(config, "payment_failed", "recovery_minutes") * MINUTE)
    max_attempts = int(threshold(config, "payment_failed", "max_attempts"))
    per_order: dict[tuple[str, str], list[tuple[int, int, Any]]] = defaultdict(list)
    for item in by_type.get(ev.PaymentFailed, ()):
        per_order[(item[2].customer_id, item[2].order_id)].append(item)
    for t in (ev.PaymentSucceeded, ev.OrderCancelled):
        for item in by_type.get(t, ()):
            key = (item[2].customer_id, item[2].order_id)
            if key in per_order:
                per_order[key].append(item)
    rows: list[dict[str, Any]] = []
    for (cid, oid), seq in per_order.items():
        seq.sort(key=_pos)
        open_ = fired = False
        first = 0
        deadline: int | None = None
        for _, ts, e in seq:
            if deadline is not None and deadline < ts:
                rows.append(row("payment_failed", cid, oid, oid, deadline, planted,
                                 f"first failure {format_us(first)}, not recovered within "
                                 f"{window / MINUTE:g} min"))
                fired, deadline = True, None
            if isinstance(e, ev.PaymentFailed):
                if not open_:
                    open_, fired, first, deadline = True, False, ts, ts + window
                attempt = e.attempt or 1
                if not fired and (e.failure_code == "fraud_suspected" or attempt >= max_attempts):
                    why = ("fraud suspected" if e.failure_code == "fraud_suspected"
                           else f"attempt {attempt} >= {max_attempts}")
                    rows.append(row("payment_failed", cid, oid, oid, ts, planted,
                                     f"{why} ({e.failure_code})"))
                    fired, deadline = True, None
            else:  # succeeded or order cancelled: the episode is over
                open_, deadline = False, None
        if deadline is not None:  # kept by finish() if due by the end of the input
            rows.append(row("payment_failed", cid, oid, oid, deadline, planted,
                             f"first failure {format_us(first)}, not recovered within "
                             f"{window / MINUTE:g} min"))
    return rows


def _missing(value: str | None) -> bool:
    return value is None or not value.strip()


@rule
def _per_event(by_type, config: Any, planted) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for _, ts, e in by_type.get(ev.ShipmentException, ()):
        rows.append(row("shipment_exception", e.customer_id, e.order_id, e.shipment_id, ts,
                         planted, f"carrier exception {e.code}"))
    for _, ts, e in by_type.get(ev.PaymentDisputed, ()):
        rows.append(row("payment_disputed", e.customer_id, e.order_id, e.order_id, ts,
                         planted, f"dispute over {e.amount:g} {e.currency}"
                         + (f" ({e.reason})" if e.reason else "")))
    verified: dict[str, bool] = {}  # latest email_verified known per customer
    for _, ts, e in heapq.merge(by_type.get(ev.CustomerUpdated, ()), by_type.get(ev.OrderPlaced, ()), key=_pos):
        if type(e) is ev.CustomerUpdated:
            if e.email_verified is not None:
                verified[e.customer_id] = e.email_verified
        elif isinstance(e, ev.OrderPlaced):
            problems = []
            v = e.email_verified if e.email_verified is not None else verified.get(e.customer_id)
            if v is False:
                problems.append("email not verified" + ("" if e.email_verified is not None else " (profile)"))
            if _missing(e.shipping_address.postal_code):
                problems.append("no postal_code")
            if _missing(e.shipping_address.city):
                problems.append("no city")
            if problems:
                rows.append(row("data_quality", e.customer_id, e.order_id, e.order_id, ts,
                                 planted, "; ".join(problems)))
            if e.email_verified is not None:
                verified[e.customer_id] = e.email_verified
    return rows


@rule
def _planted_models(by_type, config: Any, planted) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    anomalies = planted.get("order_anomaly") or {}
    churners = planted.get("churn_risk") or {}
    drops = planted.get("vip_engagement_drop") or {}
    if not (anomalies or churners or drops):
        return rows
    last_order: dict[str, tuple[int, str]] = {}
    for _, ts, e in by_type.get(ev.OrderPlaced, ()):
        if e.order_id in anomalies:
            rows.append(row("order_anomaly", e.customer_id, e.order_id, e.order_id, ts,
                             planted, anomalies[e.order_id]))
        if e.customer_id in churners:
            last_order[e.customer_id] = (ts, e.order_id)
    for cid, detail in churners.items():
        if cid in last_order:
            ts, oid = last_order[cid]
            rows.append(row("churn_risk", cid, None, cid, ts, planted,
                             f"{detail}; last order {oid}"))
    customers = {item[2].customer_id for t in (ev.CustomerUpdated, ev.OrderPlaced, ev.CustomerActivity)
                 for item in by_type.get(t, ())} if drops else set()
    for cid, (start_us, detail) in drops.items():
        if cid in customers:  # finish() keeps it if the drop starts within the input
            rows.append(row("vip_engagement_drop", cid, None, cid, start_us, planted, detail))
    return rows


# --------------------------------------------------------------------------- scoring


def trigger_subject(trigger: Mapping[str, Any]) -> str | None:
    """What a trigger is about (its kind's ``SUBJECT``), comparable with a truth row's ``subject``."""
    cls = REGISTRY.get(trigger.get("kind"))
    subject = cls.SUBJECT if cls is not None else "order"
    evidence = trigger.get("evidence") or {}
    if subject == "shipment":
        return evidence.get("shipment_id")
    if subject == "customer":
        return trigger.get("customer_id")
    if subject == "message":
        return (evidence.get("triage") or {}).get("message_id")
    return trigger.get("order_id")


def score(
    triggers: Iterable[Mapping[str, Any]],
    truth: Iterable[Mapping[str, Any]],
    kinds: Iterable[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per kind: ``tp``, ``fp``, ``fn``, ``precision``, ``recall``.

    A trigger matches a truth row with the same (kind, customer_id, subject); each truth row
    is matched at most once (a kind with several episodes per subject has several rows).
    ``fired_at`` is not compared. Precision (recall) is 0.0 when there is nothing to divide by.
    Without ``kinds``, every kind found in the triggers or the truth is reported.
    """
    triggers = list(triggers)
    truth = list(truth)
    wanted = list(kinds) if kinds is not None else sorted(
        {t["kind"] for t in triggers} | {r["kind"] for r in truth})
    open_rows: dict[tuple, int] = defaultdict(int)
    for r in truth:
        open_rows[(r["kind"], r["customer_id"], r["subject"])] += 1
    out = {k: {"tp": 0, "fp": 0, "fn": 0} for k in wanted}
    for t in triggers:
        counts = out.get(t["kind"])
        if counts is None:
            continue
        key = (t["kind"], t.get("customer_id"), trigger_subject(t))
        if open_rows.get(key, 0) > 0:
            open_rows[key] -= 1
            counts["tp"] += 1
        else:
            counts["fp"] += 1
    for (kind, _, _), n in open_rows.items():
        if kind in out:
            out[kind]["fn"] += n
    for c in out.values():
        c["precision"] = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        c["recall"] = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    return out


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file of triggers, truth or scores, blank lines skipped; a line that
    is not such a row raises ValueError naming the file and line."""
    out = []
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = _decode(line)
            except msgspec.DecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc}); expected one object per line") from None
            if not isinstance(obj, dict) or "kind" not in obj or "customer_id" not in obj:
                raise ValueError(f"{path}:{n}: not a trigger or truth row (needs kind and customer_id)")
            out.append(obj)
    return out


_decode = msgspec.json.Decoder().decode
