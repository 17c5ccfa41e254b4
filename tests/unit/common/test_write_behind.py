"""Write-behind wiring: rows go to the input's changelog partition, and before every commit."""

from __future__ import annotations

from typing import Any

from services.common.faust_app import table_writer
from services.common.write_behind import WriteRowsBeforeCommit


class FakeTable:
    """The two parts of a faust table the writer uses: its changelog and its local store."""

    def __init__(self) -> None:
        self.changelog: list[tuple[int | None, str, bytes]] = []
        self.data: dict[str, bytes] = {}

    def send_changelog(self, partition: int | None, key: str, value: bytes) -> Any:
        self.changelog.append((partition, key, value))


def test_a_row_goes_to_the_changelog_partition_of_its_input_and_to_the_store() -> None:
    table = FakeTable()
    write = table_writer(table)  # type: ignore[arg-type]
    write("case-1", b"{}", 3)
    assert table.changelog == [(3, "case-1", b"{}")] and table.data == {"case-1": b"{}"}


def test_pending_rows_are_flushed_when_a_commit_starts() -> None:
    flushed: list[int] = []
    sensor = WriteRowsBeforeCommit(lambda: flushed.append(1) or 1)
    sensor.on_commit_initiated(consumer=None)
    sensor.on_commit_initiated(consumer=None)
    assert flushed == [1, 1]
