"""Cells and rows shared by the delivery batch and the organizers' export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from petition.export.serializers import CsvLines, iso_utc, json_array, safe_cell


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+31 6", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")'],
)
def test_cells_a_spreadsheet_would_run_become_text(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Layla", "ليلى حداد", "😀", "a=b", "O'Brien", ""])
def test_other_cells_are_left_alone(value: str) -> None:
    assert safe_cell(value) == value


def test_tricky_names_survive_a_round_trip_through_the_csv_reader() -> None:
    names = ["ليلى حداد", "😀 Emoji", 'Jo "Quote", Smith', "two\nlines", "comma, name", "x\r\ny"]
    lines = CsvLines(("sequence", "name"))
    text = lines.header() + "".join(
        lines.rows({"sequence": i, "name": n} for i, n in enumerate(names, 1))
    )
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["sequence", "name"]
    assert [r[1] for r in rows[1:]] == names


def test_times_are_utc_iso_8601_to_the_second() -> None:
    when = dt.datetime(2026, 3, 18, 14, 5, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    assert iso_utc(when) == "2026-03-18T11:05:09Z"
    assert safe_cell(when) == "2026-03-18T11:05:09Z"


def test_json_array_streams_a_valid_array() -> None:
    import json

    assert json.loads("".join(json_array([]))) == []
    assert json.loads("".join(json_array({"n": i} for i in range(3)))) == [
        {"n": 0},
        {"n": 1},
        {"n": 2},
    ]


TRICKY_ROWS = [
    (1, "Layla", "SY", None, "2026-01-01T00:00:01Z", 7, "ab" * 16),
    (2, '=HYPERLINK("http://x","y")', "SY", "+31 6", "2026-01-01T00:00:02Z", 7, "cd" * 16),
    (3, "two\r\nlines", "SY", "-2", "2026-01-01T00:00:03Z", 7, "ef" * 16),
    (4, None, "SY", "\tx", "2026-01-01T00:00:04Z", 7, "01" * 16),
    (5, 'Jo "Quote", Smith', "SY", "\rx", "2026-01-01T00:00:05Z", 7, "23" * 16),
]


@pytest.mark.parametrize("rows", [TRICKY_ROWS[:2], TRICKY_ROWS], ids=["plain", "crlf-in-a-name"])
def test_many_rows_at_once_give_the_bytes_and_leaves_of_one_row_at_a_time(
    rows: list[tuple[object, ...]],
) -> None:
    """The batch's fast path writes what the receipt's one-row path rebuilds, byte for
    byte, also when a name holds a CRLF (the leaves are then cut row by row)."""
    from petition.export.serializers import BATCH_COLUMNS, batch_records, batch_row

    lines = CsvLines(BATCH_COLUMNS)
    data, leaves = lines.records(batch_records(rows, {7: "f" * 64}))
    one_by_one = [
        lines.row(
            batch_row(
                sequence=r[0],
                name=r[1],
                country=r[2],
                postcode=r[3],
                verified_at=dt.datetime.fromisoformat(r[4].replace("Z", "+00:00")),
                text_sha256="f" * 64,
                receipt_id=r[6],
            )
        ).encode()
        for r in rows
    ]
    assert data == b"".join(one_by_one)
    assert leaves == [line[:-2] for line in one_by_one]
    assert b"'=HYPERLINK" in data
    assert b"'+31 6" in data
