"""A referral system's client under chaos: posts at a steady rate and, on any failure, resends
the same body with the same Idempotency-Key (after Retry-After) until intake acknowledges it."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.common.auth import mint_token

EMERGENCY_EVERY = 10  # one referral in ten has cauda equina red flags


def referral_body(referral_id: str, emergency: bool) -> dict[str, Any]:
    """A complete referral: cauda equina (emergency) or facet-type axial pain (routine)."""
    body: dict[str, Any] = {
        "referral_id": referral_id, "referral_type": "post_surgery", "region": "lumbar",
        "age": 47, "sex": "M", "referrer": {"id": "set-by-the-token"},
        "patient": {"pseudonym": f"p-{referral_id}", "jurisdiction": "GB-ENG",
                    "preferred_language": "en"},
        "surgeries": [{"procedure": "microdiscectomy", "levels": ["L5-S1"],
                       "weeks_before_referral": 40}],
        "imaging": [{"modality": "mri", "weeks_ago": 2}],
    }
    if emergency:
        body["red_flags"] = {"saddle_anaesthesia": True,
                             "bladder_change": "retention_or_incontinence"}
        body["timeline"] = {"current_episode_days": 2, "trajectory": "worsening_rapid"}
    else:
        body["symptoms"] = {"pain_distribution": "axial", "dominant": "back", "nrs_back": 6,
                            "nrs_limb": 0, "aggravators": ["extension_rotation"]}
        body["timeline"] = {"pain_free_interval_weeks": 30, "onset_weeks_after_last_surgery": 35,
                            "trajectory": "stable", "current_episode_days": 120}
        body["neuro_exam"] = {"facet_loading_positive": True}
        body["diagnostic_blocks"] = [{"type": "medial_branch", "level": "L4-5",
                                      "relief_pct": 80}]
    return body


@dataclass
class Posted:
    referral_id: str
    emergency: bool
    key: str
    case_id: str | None = None
    attempts: int = 0
    acknowledged_at: float | None = None  # time.time() of the 202/200


@dataclass
class ReferralClient:
    """Posts referrals from a thread; `urls()` gives the live intake workers to spread over."""

    urls: Any  # Callable[[], list[str]]
    referrer: str
    rate: float
    posted: list[Posted] = field(default_factory=list)
    answers: list[tuple[float, int]] = field(default_factory=list)  # (time.time(), status)
    stop: threading.Event = field(default_factory=threading.Event)
    max_retry_after: float = 2.0  # honoured, capped so one client keeps the load steady

    def run(self, minimum: int, until: threading.Event) -> None:
        """Post at `rate` until at least `minimum` are acknowledged and `until` is set."""
        token = mint_token(subject=self.referrer, role="referrer", ttl_seconds=6 * 3600)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(timeout=15.0) as http:
            for n in itertools.count():
                acknowledged = sum(1 for p in self.posted if p.case_id)
                if self.stop.is_set() or (acknowledged >= minimum and until.is_set()):
                    return
                started = time.monotonic()
                item = Posted(f"CHAOS-{uuid.uuid4().hex[:12]}", n % EMERGENCY_EVERY == 0,
                              str(uuid.uuid4()))
                self.posted.append(item)
                self._deliver(http, item, headers)
                time.sleep(max(0.0, 1.0 / self.rate - (time.monotonic() - started)))

    def _deliver(self, http: httpx.Client, item: Posted, headers: dict[str, str]) -> None:
        body = referral_body(item.referral_id, item.emergency)
        while not self.stop.is_set():
            urls = self.urls() or [""]
            url = urls[item.attempts % len(urls)]
            item.attempts += 1
            wait = 0.5
            try:
                response = http.post(f"{url}/referrals", json=body,
                                     headers=headers | {"Idempotency-Key": item.key})
                self.answers.append((time.time(), response.status_code))
                if response.status_code in (200, 202):
                    item.case_id = response.json()["case_id"]
                    item.acknowledged_at = time.time()
                    return
                if response.status_code < 500 and response.status_code != 429:
                    raise RuntimeError(f"intake refused a valid referral: "
                                       f"{response.status_code} {response.text[:300]}")
                wait = float(response.headers.get("Retry-After", wait))
            except httpx.HTTPError:
                self.answers.append((time.time(), 0))  # no answer: refused or timed out
            time.sleep(min(wait, self.max_retry_after))

    def acknowledged(self) -> list[Posted]:
        return [p for p in self.posted if p.case_id]

    def first_accept_after(self, moment: float) -> float | None:
        """time.time() of the first 2xx answer after `moment`."""
        return next((t for t, s in self.answers if t > moment and s in (200, 202)), None)
