"""The README's tables render as tables: no blank line splits one, no row is there twice."""

from __future__ import annotations

import re

from petition.config import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def tables(text: str) -> list[list[str]]:
    """Each run of table lines; a blank line ends a table, as Markdown renders it."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def test_every_table_has_its_header_row() -> None:
    # A table cut by a blank line leaves a second half without header: shown as text.
    for table in tables(README):
        assert len(table) >= 2, table[0]
        assert re.fullmatch(r"\|( ?:?-+:? ?\|)+", table[1]), table[0]


def test_no_row_is_listed_twice() -> None:
    for table in tables(README):
        rows = table[2:]
        assert len(rows) == len(set(rows)), table[0]
        # A command or a setting is described once (figures tables may repeat a size).
        if table[0].startswith(("| Command", "| Variable")):
            firsts = [row.split("|")[1].strip() for row in rows]
            assert len(firsts) == len(set(firsts)), sorted(
                {f for f in firsts if firsts.count(f) > 1}
            )


def test_the_settings_table_names_port_and_every_setting() -> None:
    settings = next(t for t in tables(README) if t[0].startswith("| Variable"))
    names = {row.split("|")[1].strip().strip("`") for row in settings[2:]}
    assert "PORT" in names
    assert {"PETITION_ADMIN_IDLE_MINUTES", "PETITION_SIGNING_KEY_FILE"} <= names
