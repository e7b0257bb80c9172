"""``forewarn explain``: one customer (or order) as the engine sees it, and why a kind did not fire.

Two sources:

* ``--input EVENTS.jsonl`` replays the file exactly as ``forewarn backtest`` does — the same
  source, the same customer step (:class:`flows.customer_step.ShardLogic`), the same routing —
  with the engine watched for that customer: every event applied, every deadline armed,
  re-armed, disarmed or passed, every model evaluation (score against its threshold), every
  trigger, and every trigger held back by the cooldown. ``--at TIME`` stops at that event time.
* ``--recovery DIR`` reads a live engine's last recovery snapshot (``[recovery] directory``
  of ``forewarn run``; read-only, safe while it runs): the state and armed deadlines as of
  the last epoch; what happened before it is in the queues, not in the snapshot.

The "why not" comes from what the detectors did and declare — the deadlines they armed, the
scores they reported with their threshold, the event types they read (``EVENTS``), their
``Params`` — and from the engine's cooldown and the routing's consent rule, not from a second
copy of their conditions. A detector may add its own lines with an ``explain(cust, now_us)``
method returning a list of strings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from forewarn.core.state import split_timer_key
from forewarn.core.timefmt import HOUR, format_us, parse_rfc3339

if TYPE_CHECKING:  # the engine, its detectors and their models load only when explain runs
    from forewarn.core.state import CustomerState
    from forewarn.engine import config as cfgmod
    from forewarn.engine.engine import Shard


@dataclass
class Trace:
    """What happened to one customer during a replay, in the order it happened."""

    customer_id: str
    timeline: list[tuple[int, str]] = field(default_factory=list)  # (event time, line)
    triggers: list[dict] = field(default_factory=list)
    held_back: list[dict] = field(default_factory=list)
    scores: dict[str, list[tuple[int, float, float | None]]] = field(default_factory=lambda: defaultdict(list))
    deadlines: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # kind -> what happened
    events_seen: set[str] = field(default_factory=set)  # event types
    candidates: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _kind(key: str) -> str:
    return split_timer_key(key)[0]


def _subject(key: str) -> str:
    return split_timer_key(key)[1] or key


def _watching(config: cfgmod.Config, trace: Trace):
    """The engine, telling a :class:`Trace` what it does for one customer."""
    from forewarn.core import events as ev
    from forewarn.core.state import CustomerState
    from forewarn.engine.context import Context
    from forewarn.engine.engine import Engine, Shard

    class _Watching(Engine):
        """The engine, telling a :class:`Trace` what it does for one customer."""

        def __init__(self, config: cfgmod.Config, trace: Trace) -> None:
            super().__init__(config)
            self.trace = trace

        def _apply(self, shard: Shard, event: ev.AnyEvent, ctx: Context) -> list:
            if event.customer_id != self.trace.customer_id:
                return super()._apply(shard, event, ctx)
            cust = shard.customers.get(event.customer_id)
            before = dict(cust.timers) if cust is not None else {}
            scored = len(ctx.counts.scores)
            out = super()._apply(shard, event, ctx)
            cust = shard.customers[event.customer_id]
            tag = event.__struct_config__.tag
            self.trace.events_seen.add(tag)
            order = getattr(event, "order_id", None)
            self.trace.timeline.append((event.ts_us, f"{tag}" + (f" ({order})" if order else "")
                                        + f" [{event.event_id}]"))
            self._deadline_changes(before, cust.timers, event.ts_us, f"{tag} at {format_us(event.ts_us)}")
            self._scores(ctx, scored, event.ts_us)
            return out

        def _deadline_changes(self, before: dict[str, int], after: dict[str, int], at: int, cause: str) -> None:
            for key, due in after.items():
                if before.get(key) == due:
                    continue
                verb = "re-armed" if key in before else "armed"
                self.trace.deadlines[_kind(key)].append(f"{_subject(key)}: {verb} for {format_us(due)} by {cause}")
            for key in before.keys() - after.keys():
                self.trace.deadlines[_kind(key)].append(
                    f"{_subject(key)}: disarmed by {cause} (it was due {format_us(before[key])})")

        def _scores(self, ctx: Context, since: int, at: int) -> None:
            for kind, score, threshold in ctx.counts.scores[since:]:
                self.trace.scores[kind].append((at, score, threshold))

        def _fire(self, shard: Shard, ctx: Context, cid: str, key: str, deadline: int) -> list:
            cust = shard.customers.get(cid)
            if cid != self.trace.customer_id or cust is None or cust.timers.get(key) != deadline:
                return super()._fire(shard, ctx, cid, key, deadline)
            before = {k: v for k, v in cust.timers.items() if k != key}
            scored, admitted = len(ctx.counts.scores), len(self.trace.held_back)
            out = super()._fire(shard, ctx, cid, key, deadline)
            fired = [c for c in out if c.kind == _kind(key)]
            if fired:
                what = "passed and fired"
            elif len(self.trace.held_back) > admitted:
                what = "passed; its trigger was held back by the cooldown"
            else:
                what = "passed; the detector found its condition no longer held (nothing fired)"
            self.trace.deadlines[_kind(key)].append(f"{_subject(key)}: due {format_us(deadline)}, {what}")
            self._deadline_changes(before, cust.timers, deadline, f"the deadline at {format_us(deadline)}")
            self._scores(ctx, scored, deadline)
            return out

        def _admit(self, cust: CustomerState, cand, ctx: Context) -> bool:
            admitted = super()._admit(cust, cand, ctx)
            if cust.customer_id == self.trace.customer_id:
                self.trace.candidates[cand.kind] += 1
                if not admitted:
                    hours = self.config.routing.cooldown_hours.get(cand.kind, 0.0)
                    self.trace.held_back.append({
                        "kind": cand.kind, "subject": cand.subject, "fired_at": format_us(cand.fired_at),
                        "why": f"cooldown: another {cand.kind} for this customer less than {hours:g} h before "
                               f"(routing.cooldown_hours.{cand.kind})"})
            return admitted

    return _Watching(config, trace)


def find_customer(input_path: str, order_id: str) -> str | None:
    """The customer of the first valid event about ``order_id`` in the file."""
    from flows.sources import file_lines
    from forewarn.core import events as ev

    for _src, raw, _arrival in file_lines(input_path)():
        if order_id.encode() not in raw:
            continue
        item = ev.decode(raw)
        if not isinstance(item, ev.Invalid) and getattr(item, "order_id", None) == order_id:
            return item.customer_id
    return None


def replay(config: cfgmod.Config, input_path: str, customer_id: str, at_us: int | None = None
           ) -> tuple[Trace, Shard, int]:
    """Replay the file as ``forewarn backtest`` does, watching one customer (to ``at_us`` if given).

    Returns the trace, the final shard and the final watermark.
    """
    import msgspec

    from flows import modes
    from flows.customer_step import ShardLogic
    from flows.items import END, EVENT
    from flows.sources import LinesSource, file_lines
    from flows.worker_models import FlowModels
    from forewarn.engine.routing import route

    trace = Trace(customer_id)
    engine = _watching(config, trace)
    source = LinesSource(file_lines(input_path), modes._lateness_us(config), modes._one_shard, modes._time_limits(config))
    part = source.build_part("explain", "stream", None)
    logic = ShardLogic(engine, None, None, FlowModels(None, 1, False).worker(engine.models), persist=False)
    high = None
    while True:
        try:
            batch = part.next_batch()
        except StopIteration:
            break
        items = []
        for item in batch:
            if item[0] == EVENT and at_us is not None and item[2].ts_us > at_us:
                items.append((END, item[1], None, item[3], at_us))  # stop here, as the end of the input
                break
            if item[0] == EVENT:
                high = item[2].ts_us if high is None else max(high, item[2].ts_us)
            if item[0] in (EVENT, END):
                items.append(item)
        if items:
            out, _ = logic.on_batch(items)
            for ctx in out:
                for cand in ctx.candidates():
                    if cand.customer_id == customer_id:
                        trace.triggers.append(msgspec.to_builtins(route(cand, engine.config.routing)))
        if items and items[-1][0] == END:
            break
    return trace, logic.shard, logic.shard.watermark


def from_snapshot(directory: str, customer_id: str) -> tuple[CustomerState | None, int, int | None]:
    """A customer's state in a live engine's recovery directory: (state, its watermark, epoch).

    Bytewax keeps, per step and key, the snapshot of each epoch; the newest one is read.
    """
    import pickle
    import sqlite3

    db_files = sorted(Path(directory).glob("part-*.sqlite3"))
    if not db_files:
        raise FileNotFoundError(f"no recovery partitions (part-*.sqlite3) in {directory}: is it the "
                                "[recovery] directory of a forewarn run?")
    best: tuple[int, bytes] | None = None
    for db in db_files:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute("SELECT snap_epoch, ser_change FROM snaps WHERE step_id LIKE ? AND state_key = ?",
                               ("%customer_step", customer_id)).fetchall()
        finally:
            con.close()
        for epoch, ser in rows:
            if ser is not None and (best is None or epoch > best[0]):
                best = (epoch, ser)
    if best is None:
        return None, 0, None
    snap = pickle.loads(best[1])  # Bytewax's own serialisation of the bytes our step returned
    if isinstance(snap, (bytes, bytearray)):
        snap = pickle.loads(snap)
    _key, customers, _pending, watermark, *_ = snap
    return customers.get(customer_id), watermark, best[0]


# --- the report -----------------------------------------------------------------------------

def _params(config: cfgmod.Config, kind: str) -> str:
    import msgspec

    params = msgspec.to_builtins(getattr(config.detectors, kind))
    return ", ".join(f"{k} {v}" for k, v in params.items())


def _event_names(cls) -> list[str]:
    return sorted(t.__struct_config__.tag for t in getattr(cls, "EVENTS", None) or ())


def why_not(kind: str, config: cfgmod.Config, cust: CustomerState | None, trace: Trace | None,
            watermark: int, detector=None) -> list[str]:
    """Why ``kind`` did not fire for this customer, from what its detector did and declares."""
    from detectors import REGISTRY

    lines: list[str] = []
    cls = REGISTRY[kind]
    armed = {k: d for k, d in (cust.timers.items() if cust else ()) if _kind(k) == kind}
    for key, due in sorted(armed.items(), key=lambda kv: kv[1]):
        lines.append(f"waiting: {_subject(key)} is due {format_us(due)}, "
                     f"{(due - watermark) / HOUR:.1f} h after the watermark ({format_us(watermark)})")
    if trace is not None:
        lines.extend(trace.deadlines.get(kind, []))
        scores = trace.scores.get(kind, [])
        if scores:
            at, top, threshold = max(scores, key=lambda s: s[1])
            limit = (f" {'<' if top < threshold else '>='} threshold {threshold:g} (detectors.{kind}.threshold)"
                     if threshold is not None else "")
            lines.append(f"scored {len(scores)} time(s); highest {top:.3f} at {format_us(at)}{limit}")
        for held in (h for h in trace.held_back if h["kind"] == kind):
            lines.append(f"held back at {held['fired_at']} ({held['subject']}): {held['why']}")
        reads = getattr(cls, "EVENTS", None)
        if reads and not any(t.__struct_config__.tag in trace.events_seen for t in reads):
            lines.append(f"never evaluated: it reads {', '.join(_event_names(cls))} and this customer sent none")
        elif not lines:
            lines.append("its events were read; no condition held (no deadline armed, no score, no candidate)")
    if cust is not None:
        cooldown = cust.ext.get("cooldown", {}).get(kind)
        hours = config.routing.cooldown_hours.get(kind, 0.0)
        if cooldown is not None and hours and cooldown + hours * HOUR > watermark:
            lines.append(f"in cooldown until {format_us(int(cooldown + hours * HOUR))} "
                         f"(routing.cooldown_hours.{kind} = {hours:g}): a new one would be held back")
    own = getattr(detector, "explain", None)
    if own is not None and cust is not None:
        lines.extend(own(cust, watermark))
    params = _params(config, kind)
    if params:
        lines.append(f"thresholds: {params}")
    return lines


def _consent(cust: CustomerState) -> str:
    from forewarn.engine.routing import outreach

    reach = outreach({ch: {"allowed": v[0], "recorded_at": v[1]} for ch, v in cust.consent.items()})
    if reach["allowed"]:
        return f"outreach allowed on {', '.join(reach['channels'])} ({reach['basis']})"
    return f"outreach not allowed ({reach['basis']}): triggers go to the human lane, marked not allowed"


def report(config: cfgmod.Config, cust: CustomerState | None, watermark: int, trace: Trace | None,
           order_id: str | None = None, source: str = "") -> dict[str, Any]:
    """Everything ``explain`` says, as data (``--json``); :func:`text` writes it for a person."""
    from detectors import REGISTRY
    from forewarn.engine.engine import Engine

    engine = Engine(config)
    triggers = trace.triggers if trace is not None else []
    if order_id is not None:
        triggers = [t for t in triggers if t["order_id"] == order_id]
    fired = {t["kind"] for t in triggers}
    out: dict[str, Any] = {"customer_id": cust.customer_id if cust else (trace.customer_id if trace else None),
                           "source": source, "watermark": format_us(watermark) if watermark > -(2**61) else None}
    if cust is None:
        out["state"] = None
        return out
    orders = {oid: o for oid, o in cust.orders.items() if order_id is None or oid == order_id}
    shipments = {sid: s for sid, s in cust.shipments.items() if order_id is None or s.order_id == order_id}
    out["state"] = {
        "customer": cust.context(config.routing.vip_ltv),
        "consent": _consent(cust),
        "orders": {oid: {"total": o.total, "currency": o.currency, "placed_at": format_us(o.placed_us),
                         "status": o.status, "paid": o.paid} for oid, o in orders.items()},
        "shipments": {sid: {"order_id": s.order_id, "status": s.status, "eta": format_us(s.eta_us),
                            "carrier": s.carrier, "last_update_at": format_us(s.last_update_us)}
                      for sid, s in shipments.items()},
    }
    subjects = set(orders) | set(shipments)
    out["armed"] = [{"kind": _kind(k), "subject": _subject(k), "due": format_us(d)}
                    for k, d in sorted(cust.timers.items(), key=lambda kv: kv[1])
                    if order_id is None or _subject(k) in subjects]
    out["triggers"] = [{"fired_at": t["fired_at"], "kind": t["kind"], "order_id": t["order_id"],
                        "lane": f"{t['route']}:{t['priority']}", "trigger_id": t["trigger_id"],
                        "reason": t["reasons"][0]["detail"] if t["reasons"] else ""} for t in triggers]
    out["held_back"] = [h for h in (trace.held_back if trace is not None else [])
                        if order_id is None or h["subject"] in subjects]
    out["why_not"] = {kind: why_not(kind, config, cust, trace, watermark, engine.by_kind.get(kind))
                      for kind in REGISTRY if kind not in fired}
    return out


def text(rep: dict[str, Any]) -> str:
    lines = [f"customer {rep['customer_id']} ({rep['source']}; watermark {rep['watermark']})"]
    state = rep.get("state")
    if state is None:
        lines.append("  not found: no valid event of this customer" + (" up to then" if rep["watermark"] else ""))
        return "\n".join(lines)
    c = state["customer"]
    lines.append("  " + ", ".join(f"{k} {v}" for k, v in c.items()))
    lines.append(f"  {state['consent']}")
    for oid, o in state["orders"].items():
        lines.append(f"  order {oid}: {o['total']:.2f} {o['currency']} placed {o['placed_at']}, {o['status']}"
                     + (", paid" if o["paid"] else ", not paid"))
    for sid, s in state["shipments"].items():
        lines.append(f"  shipment {sid} ({s['order_id']}, {s['carrier'] or 'carrier unknown'}): {s['status']}, "
                     f"eta {s['eta']}, last update {s['last_update_at']}")
    lines.append(f"armed deadlines ({len(rep['armed'])})")
    lines.extend(f"  {a['due']}  {a['kind']:<20} {a['subject']}" for a in rep["armed"])
    lines.append(f"triggers ({len(rep['triggers'])})")
    lines.extend(f"  {t['fired_at']}  {t['kind']:<20} {t['lane']:<9} {t['order_id'] or '-'}  {t['reason']}"
                 for t in rep["triggers"])
    if rep["held_back"]:
        lines.append(f"held back ({len(rep['held_back'])})")
        lines.extend(f"  {h['fired_at']}  {h['kind']:<20} {h['subject']}  {h['why']}" for h in rep["held_back"])
    lines.append("why not")
    for kind, why in rep["why_not"].items():
        lines.append(f"  {kind}")
        lines.extend(f"    {w}" for w in why)
    return "\n".join(lines)


def cmd_explain(args: argparse.Namespace) -> int:
    from forewarn.engine import config as cfgmod

    config = cfgmod.load(args.config)
    if bool(args.input) == bool(args.recovery):
        raise cfgmod.ConfigError("give one of --input EVENTS.jsonl (a backtest file) or --recovery DIR (a live engine)")
    if not (args.customer or args.order):
        raise cfgmod.ConfigError("give --customer ID or --order ID")
    customer = args.customer
    if args.input:
        if not Path(args.input).exists():
            raise FileNotFoundError(f"input file {args.input} not found")
        if customer is None:
            customer = find_customer(args.input, args.order)
            if customer is None:
                print(f"forewarn explain: no valid event about order {args.order} in {args.input}", file=sys.stderr)
                return 1
        at_us = None
        if args.at:
            try:
                at_us = parse_rfc3339(args.at)
            except ValueError:
                raise cfgmod.ConfigError(f"--at {args.at!r}: not an RFC 3339 time, e.g. 2026-11-26T10:00:00Z") from None
        trace, shard, watermark = replay(config, args.input, customer, at_us)
        cust = shard.customers.get(customer)
        rep = report(config, cust, watermark, trace, args.order,
                     f"replay of {args.input}" + (f" to {args.at}" if args.at else ""))
    else:
        if customer is None:
            raise cfgmod.ConfigError("--recovery needs --customer ID (a snapshot is kept per customer)")
        cust, watermark, epoch = from_snapshot(args.recovery, customer)
        rep = report(config, cust, watermark, None, args.order, f"recovery snapshot in {args.recovery}, epoch {epoch}")
        rep["customer_id"] = customer
    print(json.dumps(rep, indent=2) if args.json else text(rep))
    return 0 if rep.get("state") is not None else 1


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("explain", help="a customer's (or order's) state, deadlines, triggers, and why a kind "
                                       "did not fire")
    e.add_argument("--input", help="events JSONL: replay it as `forewarn backtest` does")
    e.add_argument("--recovery", help="a live engine's [recovery] directory: read its last snapshot")
    e.add_argument("--customer", help="the customer_id to explain")
    e.add_argument("--order", help="the order_id to explain (its customer, that order's part)")
    e.add_argument("--at", help="with --input: stop the replay at this event time (RFC 3339)")
    e.add_argument("--config", help="TOML config (default forewarn.toml if present)")
    e.add_argument("--json", action="store_true", help="print the explanation as JSON")
    e.set_defaults(func=cmd_explain)
