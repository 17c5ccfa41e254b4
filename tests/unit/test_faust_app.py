"""The shared faust set-up: every table's changelog is known before the worker starts."""

from __future__ import annotations

from schemas.topics import CASE_PARTITIONS
from services.common.faust_app import changelog_specs, make_app


def test_changelog_specs_cover_every_table_with_its_own_partition_count() -> None:
    app = make_app("unit-changelogs")
    app.Table("cases", key_type=str, value_type=bytes)
    app.Table("directory", key_type=str, value_type=bytes, partitions=1)

    specs = {spec.name: spec for spec in changelog_specs(app)}

    assert set(specs) == {"spine-unit-changelogs-cases-changelog",
                          "spine-unit-changelogs-directory-changelog"}
    assert specs["spine-unit-changelogs-cases-changelog"].partitions == CASE_PARTITIONS
    assert specs["spine-unit-changelogs-directory-changelog"].partitions == 1
    assert all(s.config["cleanup.policy"] == "compact" for s in specs.values())


def test_an_app_without_tables_needs_no_changelogs() -> None:
    assert changelog_specs(make_app("unit-stateless")) == ()
