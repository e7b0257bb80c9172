"""The routing table and cooldowns are refused at start when wrong, naming the key, the value
and what is allowed."""

import pytest

from forewarn.engine.config import ConfigError, from_dict

FLAGS_HINT = ("allowed: ['angry', 'chargeback_threat', 'churn_threat', 'compliance', 'damaged', 'dispute', 'fraud', "
              "'hard_decline', 'legal_threat', 'lost', 'repeat_contact', 'repeated_failure', 'urgent']")


def rule(**kw) -> dict:
    return {"routing": {"rules": [{"name": "test row", "route": "human", **kw}]}}


@pytest.mark.parametrize("data, message", [
    (rule(when={"flags": ["frad"]}),
     f"routing.rules[0] ('test row').when.flags = ['frad']: unknown flag(s) ['frad']; {FLAGS_HINT}"),
    (rule(when={"kinds": ["late_parcel"]}), "when.kinds = ['late_parcel']: unknown kind(s) ['late_parcel']; allowed: ['churn_risk'"),
    (rule(when={"segments": ["gold"]}), "routing.rules[0].when.segments[0] = 'gold': Invalid enum value 'gold'; allowed: ['vip', 'loyal', 'repeat', 'new', 'prospect']"),
    (rule(when={"ltv_at_least": -5}), "routing.rules[0].when.ltv_at_least = -5: Expected `float` >= 0.0"),
    (rule(raise_=1), "routing.rules[0].raise_: unknown key; did you mean 'raise'?"),
    (rule(when={"flag": ["fraud"]}), "routing.rules[0].when.flag: unknown key; did you mean 'flags'?"),
    (rule(route="robot"), "routing.rules[0].route = 'robot': Invalid enum value 'robot'; allowed: ['human', 'ai']"),
    (rule(priority_at_least="p0"), "routing.rules[0].priority_at_least = 'p0': Invalid enum value 'p0'; allowed: ['p1', 'p2', 'p3', 'p4']"),
    ({"routing": {"rules": [{"name": "x", "raise": 7}]}}, "routing.rules[0].raise = 7: Expected `int` <= 3"),
    ({"routing": {"rules": [{"name": "does nothing", "when": {"kinds": ["data_quality"]}}]}},
     "routing.rules[0] ('does nothing'): has no effect; give it raise, priority_at_least or route"),
    ({"routing": {"rules": [{"route": "human"}]}}, "routing.rules[0] = {'route': 'human'}: Object missing required field `name`"),
    ({"routing": {"cooldown_hours": {"payment_faild": 1}}}, "routing.cooldown_hours: unknown kind(s) ['payment_faild']"),
    ({"routing": {"cooldown_hours": {"payment_failed": -1}}}, "routing.cooldown_hours.payment_failed = -1.0: must be 0 (no cooldown) to 8760 (a year)"),
    ({"routing": {"exchange_rates": {"EUR": 2.0}}}, "routing.exchange_rates.EUR = 2.0: the routing currency EUR is worth exactly 1.0"),
    ({"routing": {"exchange_rates": {"SEK": 0}}}, "routing.exchange_rates.SEK = 0.0: must be > 0 (units of SEK per one EUR)"),
    ({"routing": {"currency": "GBP"}}, "routing.currency = 'GBP': the default exchange_rates are per EUR"),
    ({"routing": {"currency": "pounds", "exchange_rates": {}}}, "routing.currency = 'pounds'"),
    ({"detectors": {"vip_engagement_drop": {"drop_to": 0.9}}}, "detectors.vip_engagement_drop.drop_to = 0.9: Expected `float` <= 0.8"),
    ({"detectors": {"shipment_stalled": {"stall_hours": 0}}}, "detectors.shipment_stalled.stall_hours = 0: Expected `float` >= 1.0"),
    ({"detectors": {"payment_failed": {"max_attempts": 0}}}, "detectors.payment_failed.max_attempts = 0: Expected `int` >= 1"),
    ({"detectors": {"data_quality": {"strict": True}}}, "detectors.data_quality.strict: unknown key; allowed: "),
])
def test_bad_routing_and_detector_settings_are_refused_with_key_value_and_rule(data, message):
    with pytest.raises(ConfigError) as err:
        from_dict(data)
    assert message in str(err.value)


def test_a_rules_table_replaces_the_default_rows_and_partial_tables_keep_other_defaults():
    cfg = from_dict({"routing": {
        "rules": [{"name": "only row", "when": {"flags": ["fraud"]}, "raise": 1}],
        "cooldown_hours": {"data_quality": 4},
        "exchange_rates": {"SEK": 11.0},
    }})
    assert [r.name for r in cfg.routing.rules] == ["only row"]
    assert cfg.routing.rules[0].raise_ == 1
    assert cfg.routing.cooldown_hours["data_quality"] == 4.0
    assert cfg.routing.cooldown_hours["payment_failed"] == 1.0  # default kept
    assert cfg.routing.exchange_rates["SEK"] == 11.0 and cfg.routing.exchange_rates["GBP"] == 0.86


def test_another_routing_currency_with_its_own_rates():
    cfg = from_dict({"routing": {"currency": "GBP", "exchange_rates": {"EUR": 1.16}}})
    assert cfg.routing.exchange_rates == {"EUR": 1.16}


def test_the_default_table_reads_as_the_policy():
    rules = from_dict({}).routing.rules
    assert [r.name for r in rules] == [
        "order worth 500 or more",
        "VIP customer",
        "valuable customer (lifetime value 1000 or more)",
        "fraud, chargeback, repeated payment failure or compliance risk",
        "lost or damaged parcel worth 500 or more",
        "customer must act within days",
        "message threatens legal action or a chargeback",
        "angry message, a threat to leave, or the customer writing again",
    ]


def test_the_triage_section_is_checked_at_start():
    with pytest.raises(ConfigError) as err:
        from_dict({"triage": {"human_flags": ["angry", "rude"]}})
    assert "triage.human_flags = ['angry', 'rude']: unknown flag(s) ['rude']; allowed: ['angry'" in str(err.value)
    with pytest.raises(ConfigError) as err:
        from_dict({"triage": {"min_confidence": 1.5}})
    assert "triage.min_confidence = 1.5: Expected `float` <= 1.0" in str(err.value)
    cfg = from_dict({"triage": {"ai_intents": ["Order Status"], "min_confidence": 0.8}})
    assert cfg.triage.ai_intents == ["Order Status"] and cfg.triage.min_confidence == 0.8
    assert cfg.triage.human_flags == ["angry", "legal_threat", "chargeback_threat", "churn_threat"]
