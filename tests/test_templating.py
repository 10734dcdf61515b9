"""Static files are addressed by their content and cached for a year."""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask.testing import FlaskClient

from petition.templating import static_version


def test_static_urls_carry_a_content_hash_and_are_cached_long(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    found = re.search(r'href="(/static/style\.css\?v=(\w{12}))"', html)
    assert found, "the stylesheet is not versioned"
    with client.get(found.group(1)) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000"
    # The bare address (as another site might use it) is revalidated as before.
    with client.get("/static/style.css") as response:
        assert response.headers["Cache-Control"] == "no-cache"


def test_the_hash_follows_the_content(tmp_path: Path) -> None:
    path = tmp_path / "a.css"
    path.write_text("a{}")
    first = static_version(str(tmp_path), "a.css")
    path.write_text("b{}")
    os.utime(path, ns=(1, 10**18))
    assert static_version(str(tmp_path), "a.css") != first
    assert static_version(str(tmp_path), "missing.css") is None
