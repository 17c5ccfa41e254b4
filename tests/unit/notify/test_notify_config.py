"""Settings: durations, per-urgency targets, file and environment overrides, subscribers and
their secrets (real ones outside development mode)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.directory import Specialist
from services.common.deployment_secrets import MissingSecret
from services.common.sla_policy import parse_targets
from services.notify.config import load_policy, load_retry, load_settings, parse_duration
from services.notify.delivery.signing import derive_secret
from services.notify.subscribers import Recipients, Subscriber, SubscribersFile, load_subscribers

REPO = Path(__file__).resolve().parents[3]


def test_durations() -> None:
    assert [parse_duration(t) for t in ("90", "90s", "15m", "4h", "3d", "0.5h")] == [
        90, 90, 900, 14400, 259200, 1800
    ]
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_default_targets_match_the_documented_table() -> None:
    policy = load_policy({})
    assert [(u, policy.target_seconds(u, "acceptance") / 3600,
             policy.target_seconds(u, "turnaround") / 3600)
            for u in ("emergency", "urgent", "soon", "routine")] == [
        ("emergency", 0.25, 4), ("urgent", 2, 72), ("soon", 8, 14 * 24), ("routine", 24, 42 * 24)
    ]
    # The second read is due sooner: later steps wait for it.
    assert policy.target_seconds("urgent", "turnaround", "spine_radiology") == 24 * 3600
    assert policy.warn_fractions == (0.75, 0.9)


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    file_config = {"warn_fractions": [0.5], "calendars": {"spine_radiology": {
        "time_zone": "Europe/London", "start": "09:00", "end": "17:00"}},
        "retry": {"base_seconds": 0.1, "max_attempts": 4}}
    monkeypatch.setenv("SLA_TARGETS", "urgent=10m/30m/6h")
    monkeypatch.setenv("NOTIFY_RETRY_CAP_SECONDS", "2")
    policy = load_policy(file_config)
    assert policy.warn_fractions == (0.5,)
    assert policy.target_seconds("urgent", "acceptance") == 1800
    assert policy.target_seconds("urgent", "turnaround") == 6 * 3600
    assert policy.target_seconds("routine", "acceptance") == 24 * 3600  # others keep theirs
    assert policy.calendar_for("spine_radiology", "routine") is not None
    assert policy.calendar_for("spine_radiology", "urgent") is None  # wall clock when urgent
    retry = load_retry(file_config)
    assert (retry.base_seconds, retry.cap_seconds, retry.max_attempts) == (0.1, 2, 4)


def test_invalid_policy_is_rejected() -> None:
    with pytest.raises(ValueError):
        load_policy({"warn_fractions": [1.5]})
    with pytest.raises(ValueError):
        parse_targets("urgent=2h")
    with pytest.raises(ValueError):
        parse_targets("whenever=1h/2h/3h")


def test_seed_file_parses_and_marks_its_secrets_as_development_only() -> None:
    seed = load_subscribers(REPO / "deploy" / "seed" / "subscribers.json")
    assert seed.referrers and seed.ops and seed.team_leads
    secrets = [s.secret for s in [*seed.referrers, *seed.ops] if s.secret]
    assert secrets and all(s.startswith("dev-only-") for s in secrets)


def test_missing_subscribers_file_means_nobody(tmp_path: Path) -> None:
    assert load_subscribers(tmp_path / "absent.json") == SubscribersFile()


def recipients() -> Recipients:
    subscribers = SubscribersFile(
        referrers=[Subscriber(id="ref-1", webhook_url="https://r.example.org/1",
                              secret_env="REF1_SECRET",
                              secret="dev-only-1"),
                   Subscriber(id="ref-quiet")],
        team_leads=[Subscriber(id="lead-file", teams=["spine_surgery"])],
        ops=[Subscriber(id="ops-1", webhook_url="https://o.example.org/1", secret="dev-only-ops")],
    )
    directory = {
        "spec-1": Specialist(specialist_id="spec-1", name="A", role="neurosurgeon",
                             team_lead_id="lead-dir", webhook_url="http://s/1"),
        "lead-file": Specialist(specialist_id="lead-file", name="L", role="neurosurgeon",
                                webhook_url="http://s/lead"),
    }
    return Recipients(subscribers, directory, master_secret="master")


def test_contacts_prefer_the_directory_then_the_file() -> None:
    r = recipients()
    assert r.team_lead_for("spec-1", "spine_surgery") == "lead-dir"
    assert r.team_lead_for("unknown", "spine_surgery") == "lead-file"
    assert r.team_lead_for(None, "oncology") is None
    assert r.ops_ids() == ["ops-1"]
    assert r.has_referrer("ref-1") and not r.has_referrer("ref-quiet")


def test_secrets_come_from_env_then_file_then_derivation(monkeypatch: pytest.MonkeyPatch) -> None:
    r = recipients()
    assert r.endpoint("referrer", "ref-1").secret == b"dev-only-1"  # type: ignore[union-attr]
    monkeypatch.setenv("REF1_SECRET", "from-env")
    assert r.endpoint("referrer", "ref-1").secret == b"from-env"  # type: ignore[union-attr]
    monkeypatch.setenv("REF1_SECRET", "from-a-file\n")  # a mounted secret's trailing newline
    assert r.endpoint("referrer", "ref-1").secret == b"from-a-file"  # type: ignore[union-attr]
    specialist = r.endpoint("specialist", "spec-1")
    assert specialist is not None and specialist.url == "http://s/1"
    assert specialist.secret == derive_secret("master", "specialist", "spec-1")
    assert r.endpoint("team_lead", "lead-file").url == "http://s/lead"  # type: ignore[union-attr]
    assert r.endpoint("referrer", "ref-quiet") is None
    assert r.endpoint("specialist", "nobody") is None


REVIEWED = {"referrers": [  # review 17's subs.json: a variable not set, a file secret
    {"id": "ref-a", "webhook_url": "https://hooks.example.org/a",
     "secret_env": "NOTIFY_SECRET_REF_A"},
    {"id": "ref-b", "webhook_url": "https://hooks.example.org/b", "secret": "dev-only-x"}]}


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Outside development mode, with real master, peer and JWT secrets."""
    monkeypatch.delenv("SPINE_ENV", raising=False)
    monkeypatch.delenv("NOTIFY_SECRET_REF_A", raising=False)
    monkeypatch.setenv("NOTIFY_WEBHOOK_MASTER_SECRET", "m" * 40)
    monkeypatch.setenv("AUTH_JWT_SECRET", "a" * 40)
    monkeypatch.setenv("SPINE_PEER_SECRET", "p" * 40)
    monkeypatch.setenv("NOTIFY_SUBSCRIBERS_FILE", str(tmp_path / "subscribers.json"))
    return monkeypatch


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "subscribers.json"
    path.write_text(json.dumps(content))
    return path


def test_outside_development_a_file_secret_or_an_unset_secret_env_stops_start_up(
        deployed: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(tmp_path, REVIEWED)
    settings = load_settings()
    with pytest.raises(MissingSecret) as refused:
        load_subscribers(settings.subscribers_file)
    message = str(refused.value)
    assert "'ref-a': NOTIFY_SECRET_REF_A is not set" in message
    assert "'ref-b': 'secret' in the file is for development only" in message
    assert "dev-only-x" not in message


@pytest.mark.parametrize(("value", "why"), [
    ("short-but-set", "must be a real secret of at least 32"), ("   ", "is not set"),
    ("dev-only-" + "x" * 40, "must be a real secret of at least 32")])
def test_outside_development_a_weak_secret_env_value_is_refused_unquoted(
        deployed: pytest.MonkeyPatch, tmp_path: Path, value: str, why: str) -> None:
    path = write(tmp_path, {"referrers": [REVIEWED["referrers"][0]]})
    deployed.setenv("NOTIFY_SECRET_REF_A", value)
    with pytest.raises(MissingSecret, match=f"'ref-a': NOTIFY_SECRET_REF_A {why}") as refused:
        load_subscribers(path)
    assert value not in str(refused.value)


def test_outside_development_real_secrets_and_derived_ones_load(
        deployed: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path, {"referrers": [REVIEWED["referrers"][0]], "ops": [
        {"id": "ops-1", "webhook_url": "https://hooks.example.org/ops"}]})
    deployed.setenv("NOTIFY_SECRET_REF_A", "r" * 40)
    r = Recipients(load_subscribers(path), {}, master_secret="m" * 40)
    assert r.endpoint("referrer", "ref-a").secret == b"r" * 40  # type: ignore[union-attr]
    # neither secret nor secret_env: derived from the master secret, as documented
    assert r.endpoint("ops", "ops-1").secret == derive_secret(  # type: ignore[union-attr]
        "m" * 40, "ops", "ops-1")


def test_development_mode_still_signs_with_the_demo_files_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_ENV", "development")
    monkeypatch.delenv("NOTIFY_SECRET_REF_NORTH_GP", raising=False)
    r = Recipients(load_subscribers(REPO / "deploy" / "seed" / "subscribers.json"), {},
                   master_secret="m" * 40)
    assert r.endpoint("referrer", "ref-north-gp").secret == (  # type: ignore[union-attr]
        b"dev-only-ref-north-gp")
