"""Pure triage engine (brief sections 2-6): no faust, kafka, HTTP; same referral, same result."""

from services.triage.engine.rule_table import RuleTable, load_rule_table, rule_table
from services.triage.engine.triage import triage_referral

__all__ = ["RuleTable", "load_rule_table", "rule_table", "triage_referral"]
