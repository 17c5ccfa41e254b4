"""Directory operations: writes go to the compacted topic, reads come from the agent's table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from schemas.directory import ROLE_TEAMS, Specialist
from services.common.problems import ProblemError
from services.common.webhook_targets import url_problem
from services.routing.api.gateway import RoutingGateway
from services.routing.domain.directory import language_tag, weekday_problems, zone_of


def validate_entry(*, specialist_id: str, spec: Specialist) -> None:
    """Reject entries the agent could not use: id mismatch, unknown time zone, bad windows."""
    errors = []
    if spec.specialist_id != specialist_id:
        errors.append({"path": "specialist_id", "message": "must equal the id in the path"})
    if spec.time_zone != "UTC" and zone_of(spec.time_zone).key == "UTC":
        errors.append({"path": "time_zone", "message": "unknown IANA time zone"})
    if spec.webhook_url is not None and (refused := url_problem(spec.webhook_url)):
        errors.append({"path": "webhook_url", "message": f"refused webhook target: {refused}"})
    errors += weekday_problems(spec)
    windows = [("absences", i, w.starts_at, w.ends_at) for i, w in enumerate(spec.absences)]
    windows += [("on_call", i, w.starts_at, w.ends_at) for i, w in enumerate(spec.on_call)]
    for field, i, starts_at, ends_at in windows:
        if ends_at <= starts_at:
            errors.append({"path": f"{field}.{i}.ends_at", "message": "must be after starts_at"})
    if errors:
        raise ProblemError(422, "Invalid request", f"{len(errors)} invalid field(s)",
                           kind="validation", errors=errors)


async def _wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def put_specialist(*, gateway: RoutingGateway, specialist_id: str, spec: Specialist) -> bool:
    """Publish an entry; True once this instance's directory shows it."""
    validate_entry(specialist_id=specialist_id, spec=spec)
    await gateway.publish_specialist(specialist_id, spec)
    return await _wait_until(
        lambda: (p := gateway.directory.get(specialist_id)) is not None and p.specialist == spec,
        gateway.directory_wait_seconds)


async def delete_specialist(*, gateway: RoutingGateway, specialist_id: str) -> bool:
    """Publish a tombstone; True once this instance's directory no longer lists them."""
    if gateway.directory.get(specialist_id) is None:
        raise ProblemError(404, "Not found", "no such specialist")
    await gateway.publish_specialist(specialist_id, None)
    return await _wait_until(lambda: gateway.directory.get(specialist_id) is None,
                             gateway.directory_wait_seconds)


def get_specialist(*, gateway: RoutingGateway, specialist_id: str) -> Specialist:
    """One directory entry, or 404."""
    profile = gateway.directory.get(specialist_id)
    if profile is None:
        raise ProblemError(404, "Not found", "no such specialist")
    return profile.specialist


def list_specialists(
    *, gateway: RoutingGateway, role: str | None, team: str | None, jurisdiction: str | None,
    language: str | None, skill: str | None, active: bool | None, limit: int, offset: int,
) -> tuple[int, list[Specialist]]:
    """Entries matching every given filter, sorted by id, one page at a time."""
    if team is not None and team not in {t for ts in ROLE_TEAMS.values() for t in ts}:
        raise ProblemError(422, "Invalid request", "unknown team", kind="validation")
    pool = gateway.directory.team(team) if team else list(gateway.directory)
    found = [
        p.specialist for p in pool
        if (role is None or p.specialist.role == role)
        and (jurisdiction is None or jurisdiction in p.licences)
        and (language is None or language_tag(language) in p.languages)
        and (skill is None or skill.lower() in p.skills)
        and (active is None or p.active is active)
    ]
    found.sort(key=lambda s: s.specialist_id)
    return len(found), found[offset: offset + limit]
