"""Request and response shapes of the directory API."""

from __future__ import annotations

from pydantic import BaseModel

from schemas.directory import Specialist


class SpecialistList(BaseModel):
    total: int
    items: list[Specialist]


class DirectoryWrite(BaseModel):
    specialist_id: str
    applied: bool  # False: accepted by Kafka, not yet visible in this instance's table
