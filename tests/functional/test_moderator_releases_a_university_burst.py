"""Students behind one university address sign in a burst; the later signatures
wait, and a moderator releases them from the command line after checking."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from petition import worker
from tests.abuse.conftest import all_signatures, confirm_all, count, post_sign


def test_moderator_releases_a_university_burst(make_app: Callable[..., Flask]) -> None:
    app = make_app(flag_burst_per_ip="3/10 minutes")
    client = app.test_client()
    for n in range(6):
        assert (
            post_sign(client, ip="192.0.2.80", email=f"student{n}@uni.example").status_code == 303
        )
    assert confirm_all(app, client) == 6
    worker.run(app, once=True)
    assert count(client) == 3

    runner = app.test_cli_runner()
    listing = runner.invoke(args=["petition", "flags", "--petition", "defend-the-people-of-daraa"])
    assert "3 held, 3 of them verified" in listing.output
    assert "uni.example" in listing.output
    ip_hash = all_signatures(app)[-1].ip_hash
    assert ip_hash is not None
    assert ip_hash[:16] in listing.output

    released = runner.invoke(
        args=[
            *("petition", "flags", "--petition", "defend-the-people-of-daraa"),
            *("--ip-hash", ip_hash[:16], "--release", "--yes"),
            *("--why", "the university's address; the names are students"),
        ]
    )
    assert "released 3 signatures" in released.output
    worker.run(app, once=True)
    assert count(client) == 6
