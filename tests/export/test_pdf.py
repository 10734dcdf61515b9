"""The delivery PDF: real typesetting, Arabic shaped and right-to-left.

Pages are also rendered to PNG (pdftoppm) so that a person can look at them:
``pytest tests/export/test_pdf.py --basetemp=/tmp/pdf`` keeps them under /tmp/pdf.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from tests import system
from tests.export.conftest import Signatures, make_batch

ARABIC = Path(__file__).parent / "data" / "arabic-petition.md"
NAMES = ["ليلى حداد", "محمد الأحمد", "Omar Khaled", "Zoë O'Brien", "😀 Emoji"]


def tools() -> None:
    # Poppler reads the PDFs back; the Arabic is set in Noto Naskh Arabic.
    system.require("poppler-utils", "fonts-noto-core")


def delivery_pdf(batch: Path, folder: Path) -> Path:
    out = folder / "delivery.pdf"
    with zipfile.ZipFile(batch) as zf:
        out.write_bytes(zf.read("delivery.pdf"))
    return out


def render_pngs(pdf: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(pdf.with_suffix(""))], check=True)
    return sorted(pdf.parent.glob(pdf.stem + "-*.png"))


def text_of(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def fonts_of(pdf: Path) -> str:
    return subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout


def test_english_delivery_pdf(
    app: Flask, signatures: Signatures, out_dir: Path, tmp_path: Path
) -> None:
    tools()
    signatures.add(NAMES)
    pdf = delivery_pdf(make_batch(app, out_dir), tmp_path)
    text = text_of(pdf)
    for expected in (
        "Defend the People of Daraa",
        "Decision-makers worldwide",
        "Signatures in this batch",
        "Batch number",
        "SHA-256 of signatures.csv",
        "Omar Khaled (SY)",
        "The Syrian revolution began in Daraa",
        # Where a recipient holding the paper reads how to check it (/verify).
        "http://localhost/verify",
    ):
        assert expected in text
    assert "Noto-Naskh-Arabic" in fonts_of(pdf)  # the Arabic names are set in an Arabic font
    pages = render_pngs(pdf)
    assert len(pages) >= 2
    assert all(p.stat().st_size > 2000 for p in pages)


def test_arabic_delivery_pdf(
    app: Flask, signatures: Signatures, out_dir: Path, tmp_path: Path
) -> None:
    tools()
    with app.app_context(), session_scope() as session:
        session.execute(sa.delete(Petition).where(sa.false()))
        arabic = petitions.publish(session, source=petitions.parse_petition_file(ARABIC))
        arabic_id = arabic.id
    other = Signatures(app, arabic_id)
    other.add(NAMES)
    from petition.export import batch_key, batches

    with app.app_context(), session_scope() as session:
        petition = session.get(Petition, arabic_id)
        assert petition is not None
        batch = batches.make_batch(
            session, petition=petition, out_dir=out_dir, key=batch_key.app_key(app), actor="cli:t"
        ).path
    pdf = delivery_pdf(batch, tmp_path)
    text = text_of(pdf)
    assert "مجلس الأمن" in text
    assert "ليلى حداد" in text
    assert "Noto-Naskh-Arabic" in fonts_of(pdf)
    assert render_pngs(pdf)
