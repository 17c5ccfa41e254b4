"""Load the one SLA policy (schemas.sla_policy) the same way in every service.

Precedence: defaults in code < SLA_POLICY_FILE (YAML or JSON with the SlaPolicy fields) <
SLA_TARGETS (`urgency=offer/accept/turnaround,...`, durations such as 30m, 2h, 3d) <
ROUTING_OFFER_TIMEOUT_<URGENCY>_MINUTES (the older name of the offer window, still honoured).
Routing and notify must see the same values: give both the same variables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from schemas.sla_policy import SlaPolicy, Targets
from schemas.triage import URGENCY_ORDER
from services.common.config_yaml import load_config_yaml
from services.common.settings import env_str

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds from "90", "90s", "15m", "4h" or "3d"."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 4h, 3d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_targets(text: str) -> dict[str, Targets]:
    """"urgent=30m/2h/72h,routine=12h/24h/42d" -> per-urgency offer/accept/turnaround."""
    targets: dict[str, Targets] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        urgency, _, spec = item.partition("=")
        parts = spec.split("/")
        if urgency.strip() not in URGENCY_ORDER or len(parts) != 3:
            raise ValueError(f"SLA_TARGETS item {item!r}: use urgency=offer/accept/turnaround")
        offer, accept, turnaround = (parse_duration(p) for p in parts)
        targets[urgency.strip()] = Targets(offer_window_seconds=offer, acceptance_seconds=accept,
                                           turnaround_seconds=turnaround)
    return targets


def mapping_file(variable: str) -> dict[str, Any]:
    """The YAML or JSON mapping in the file the environment variable names ({} when unset)."""
    path = env_str(variable, "")
    if not path:
        return {}
    loaded = load_config_yaml(Path(path).read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{variable} must hold a mapping")
    return loaded


def load_sla_policy(file_config: dict[str, Any] | None = None) -> SlaPolicy:
    """The SLA policy in force for this process."""
    raw = dict(file_config if file_config is not None else mapping_file("SLA_POLICY_FILE"))
    policy = SlaPolicy.model_validate(raw)
    urgencies = dict(policy.urgencies)
    urgencies.update(parse_targets(env_str("SLA_TARGETS", "")))  # type: ignore[arg-type]
    for urgency in URGENCY_ORDER:
        legacy = os.environ.get(f"ROUTING_OFFER_TIMEOUT_{urgency.upper()}_MINUTES")
        if legacy:
            urgencies[urgency] = urgencies[urgency].model_copy(
                update={"offer_window_seconds": float(legacy) * 60})
    return policy.model_copy(update={"urgencies": urgencies})
