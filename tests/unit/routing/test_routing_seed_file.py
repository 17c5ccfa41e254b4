"""The directory seeder refuses a bad file with a message and exit status 2, never a traceback,
and publishes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.routing import seed


def refuse(path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    async def never(*args: object) -> None:
        raise AssertionError("nothing may be published from a bad file")

    monkeypatch.setattr(seed, "publish", never)
    assert seed.main([str(path)]) == 2
    return capsys.readouterr().err


def test_a_file_that_is_not_json_is_refused_naming_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "specialists.json"
    bad.write_text('[{"specialist_id": "a",\n  oops}]')
    assert "not JSON" in (err := refuse(bad, capsys, monkeypatch)) and "line 2" in err


def test_a_missing_or_binary_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "cannot read" in refuse(tmp_path / "absent.json", capsys, monkeypatch)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00[")
    assert "cannot read" in refuse(binary, capsys, monkeypatch)


def test_an_entry_with_a_bad_field_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "specialists.json"
    bad.write_text('[{"specialist_id": "a"}]')
    assert "invalid directory file" in refuse(bad, capsys, monkeypatch)
