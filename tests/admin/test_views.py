"""Running petitions in the browser: create with a preview, edit, open and close,
import a file, the dashboard's figures, and signers' requests."""

from __future__ import annotations

import datetime as dt
import io
from http import HTTPStatus

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition.admin.models import User
from petition.audit.models import AuditEvent
from petition.db import session_scope
from petition.petitions import markdown
from petition.petitions.models import Petition, PetitionStatus, PetitionVersion
from petition.signing import service as signing
from petition.signing.models import Signature, SignatureSource, SignatureStatus
from tests.admin.conftest import FLASH, PASSWORD, Accounts, add_signature, login, token
from tests.helpers import DARAA

SLUG = "defend-the-people-of-daraa"
BODY = "We ask for **clean water**.\n\n- wells\n- pipes\n\n<script>alert(1)</script>\n"


def _form(client: FlaskClient, path: str, **fields: object) -> dict[str, object]:
    data: dict[str, object] = {"csrf_token": token(client, path)}
    data.update(fields)
    return data


def _new(client: FlaskClient, **fields: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "title": "Water for Deir ez-Zor",
        "slug": "water-for-deir-ez-zor",
        "addressed_to": "The governor",
        "body": BODY,
        "goal": "1000",
        "language": "en",
        "action": "save",
    }
    values.update(fields)
    return client.post("/admin/petitions/new", data=_form(client, "/admin/petitions/new", **values))


def _actions(app: Flask) -> list[str]:
    with app.app_context(), session_scope() as session:
        return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def _petition(app: Flask, slug: str) -> Petition:
    with app.app_context(), session_scope() as session:
        return session.scalars(sa.select(Petition).where(Petition.slug == slug)).one()


def test_preview_renders_like_the_public_page_and_saves_nothing(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    response = _new(client, action="preview")
    assert response.status_code == HTTPStatus.OK
    html = response.get_data(as_text=True)
    assert markdown.render(BODY) in html
    assert "<strong>clean water</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert 'value="water-for-deir-ez-zor"' in html  # the form keeps what was typed
    with app.app_context(), session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Petition)) == 2


def test_organizer_creates_a_draft_they_then_run(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    response = _new(
        client, closes_on=(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response.headers["Location"] == "/admin/p/water-for-deir-ez-zor"
    created = _petition(app, "water-for-deir-ez-zor")
    assert created.status == PetitionStatus.DRAFT
    assert created.goal == 1000
    assert created.closes_at is not None
    # Drafts are not public.
    assert client.get("/p/water-for-deir-ez-zor").status_code == HTTPStatus.NOT_FOUND
    with app.app_context(), session_scope() as session:
        organizer = session.get(User, accounts.organizer_id)
        assert organizer is not None
        assert "water-for-deir-ez-zor" in {p.slug for p in organizer.petitions}
    assert "petition.create" in _actions(app)


def test_bad_petition_forms_are_refused_with_messages(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    taken = _new(client, slug=SLUG)
    assert taken.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "already uses this web address" in taken.get_data(as_text=True)
    for fields, message in (
        ({"slug": "Not A Slug"}, "lower-case letters"),
        ({"slug": "admin"}, "reserved"),
        ({"title": ""}, "This field is required"),
        ({"goal": "-5"}, "A whole number from 1"),
        ({"closes_on": "2001-01-01"}, "must be in the future"),
        ({"closes_on": "soon"}, "Not a valid date"),
    ):
        response = _new(client, **fields)
        assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, fields
        assert message in response.get_data(as_text=True), fields
    with app.app_context(), session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Petition)) == 2


def _status(client: FlaskClient, slug: str, to: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/admin/p/{slug}/status", data={"csrf_token": token(client, f"/admin/p/{slug}"), "to": to}
    )


def test_status_moves_draft_open_closed_delivered(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    _new(client)
    slug = "water-for-deir-ez-zor"
    assert _status(client, slug, "closed").status_code == HTTPStatus.CONFLICT
    assert _status(client, slug, "open").status_code == HTTPStatus.SEE_OTHER
    assert client.get(f"/p/{slug}").status_code == HTTPStatus.OK
    assert _status(client, slug, "delivered").status_code == HTTPStatus.CONFLICT
    add_signature(app, slug, "a@example.org")
    assert _status(client, slug, "closed").status_code == HTTPStatus.SEE_OTHER
    assert "no longer takes signatures" in client.get(f"/p/{slug}").get_data(as_text=True)
    # Delivered means every signature went out in a delivered batch.
    early = _status(client, slug, "delivered")
    assert early.status_code == HTTPStatus.CONFLICT
    assert "has no batch yet" in early.get_data(as_text=True)
    batches = f"/admin/p/{slug}/batches"
    client.post(batches, data=_form(client, batches, password=PASSWORD))
    client.post(f"{batches}/1/delivered", data=_form(client, batches, to="The governor"))
    assert _status(client, slug, "delivered").status_code == HTTPStatus.SEE_OTHER
    assert _status(client, slug, "open").status_code == HTTPStatus.CONFLICT
    assert _status(client, slug, "junk").status_code == HTTPStatus.BAD_REQUEST
    assert _petition(app, slug).status == PetitionStatus.DELIVERED
    actions = _actions(app)
    assert actions.index("petition.open") < actions.index("petition.closed")
    assert actions[-1] == "petition.deliver"


def _sign(app: Flask, petition_slug: str, email: str = "layla@example.org", **kw: object) -> int:
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition).where(Petition.slug == petition_slug)).one()
        result = signing.sign(
            session,
            petition=petition,
            signer=signing.Signer(
                name="Layla Haddad", email=email, country=str(kw.get("country", "SY"))
            ),
            client=signing.Client(
                ip="192.0.2.1",
                source=kw.get("source", SignatureSource.PAGE),  # type: ignore[arg-type]
                origin=kw.get("origin"),  # type: ignore[arg-type]
            ),
            ip_key=b"k",
            base_url="http://localhost",
            token_ttl=dt.timedelta(days=1),
        )
        if kw.get("verified", True):
            row = session.get(Signature, result.signature_id)
            assert row is not None
            row.status = SignatureStatus.VERIFIED
            row.verified_at = dt.datetime.now(dt.UTC)
        return result.signature_id


def test_edit_after_signatures_makes_a_new_version(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    login(client, accounts.organizer)
    page = client.get(f"/admin/p/{SLUG}/edit").get_data(as_text=True)
    assert "Defend the People of Daraa" in page
    assert f'value="{SLUG}"' in page
    base = {"title": "Defend the People of Daraa", "slug": SLUG, "language": "en", "action": "save"}

    # Nobody signed yet: corrected in place.
    response = client.post(
        f"/admin/p/{SLUG}/edit", data=_form(client, f"/admin/p/{SLUG}/edit", body="First.", **base)
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    _sign(app, SLUG)
    response = client.post(
        f"/admin/p/{SLUG}/edit",
        data=_form(client, f"/admin/p/{SLUG}/edit", body="Second.", **dict(base, slug="renamed")),
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    flashed = FLASH.search(client.get(response.headers["Location"]).get_data(as_text=True))
    assert flashed
    assert "version 2" in flashed.group(1)
    with app.app_context(), session_scope() as session:
        versions = session.scalars(
            sa.select(PetitionVersion)
            .order_by(PetitionVersion.number)
            .where(PetitionVersion.petition_id == petition.id)
        ).all()
        assert [v.body_markdown for v in versions] == ["First.\n", "Second.\n"]
        # The web address did not change.
        assert session.scalar(sa.select(sa.func.count()).where(Petition.slug == "renamed")) == 0


def test_import_a_petition_file(app: Flask, client: FlaskClient, accounts: Accounts) -> None:
    login(client, accounts.organizer)
    text = DARAA.read_text(encoding="utf-8").replace(SLUG, "imported-daraa")

    def upload(content: bytes, name: str = "p.md"):  # type: ignore[no-untyped-def]
        return client.post(
            "/admin/petitions/import",
            data=_form(client, "/admin/petitions/import", file=(io.BytesIO(content), name)),
            content_type="multipart/form-data",
        )

    response = upload(text.encode())
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert _petition(app, "imported-daraa").status == PetitionStatus.DRAFT
    # Importing again updates the petition.
    assert upload(text.replace("Daraa", "Daraa!").encode()).status_code == HTTPStatus.SEE_OTHER
    # Someone else's petition cannot be overwritten through a file.
    taken = upload(text.replace("imported-daraa", "clean-water-for-idlib").encode())
    assert taken.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "already uses this web address" in taken.get_data(as_text=True)
    for content, message in (
        (b"no front matter", "front matter lacks"),
        (b"\xff\xfe junk", "UTF-8"),
        (b"---\ntitle: T\nslug: s\ngoal: many\n---\ntext", "goal must be"),
        (b"---\ntitle: [unclosed\n---\n", "p.md"),
    ):
        refused = upload(content)
        assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, content
        assert message in refused.get_data(as_text=True), content


def test_dashboard_counts_and_charts(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _sign(app, SLUG, "a@example.org", country="SY")
    _sign(
        app,
        SLUG,
        "b@example.org",
        country="SY",
        source=SignatureSource.WIDGET,
        origin="https://news.example",
    )
    _sign(app, SLUG, "c@example.org", country="LB")
    _sign(app, SLUG, "d@example.org", verified=False)
    login(client, accounts.organizer)
    html = client.get(f"/admin/p/{SLUG}").get_data(as_text=True)
    assert '<td data-count="verified">3</td>' in html
    assert '<td data-count="pending">1</td>' in html
    assert html.count('<svg class="chart"') == 3
    assert "SY: 2" in html
    assert "LB: 1" in html
    assert "https://news.example" in html
    # CSP style-src 'self': no inline style anywhere in the page or its charts.
    assert "style=" not in html
    assert "<script" not in html
    summary = client.get("/admin/").get_data(as_text=True)
    assert "Defend the People of Daraa" in summary


def _search(client: FlaskClient, email: str):  # type: ignore[no-untyped-def]
    """The signer search as the page sends it: a POST, the address in the body."""
    search = f"/admin/p/{SLUG}/signatures"
    return client.post(search, data={"csrf_token": token(client, search), "email": email})


def test_the_signer_search_keeps_the_address_out_of_the_url(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _sign(app, SLUG, "layla@example.org")
    login(client, accounts.organizer)
    search = f"/admin/p/{SLUG}/signatures"
    page = client.get(search).get_data(as_text=True)
    assert f'<form method="post" action="{search}"' in page
    by_query = client.get(search, query_string={"email": "layla@example.org"})
    assert by_query.status_code == HTTPStatus.OK
    assert "Layla Haddad" not in by_query.get_data(as_text=True)
    assert "Layla Haddad" in _search(client, "layla@example.org").get_data(as_text=True)
    # Without the form's token the search is refused.
    assert client.post(search, data={"email": "layla@example.org"}).status_code in (
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.UNPROCESSABLE_ENTITY,
    )


def test_find_correct_and_withdraw_a_signature(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    signature_id = _sign(app, SLUG, "Layla.Haddad@example.org")
    login(client, accounts.organizer)
    search = f"/admin/p/{SLUG}/signatures"
    missing = _search(client, "someone@example.org")
    assert "No signature with that address" in missing.get_data(as_text=True)
    assert _search(client, "not an address").status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    found = _search(client, "layla.haddad@EXAMPLE.org")
    assert "Layla Haddad" in found.get_data(as_text=True)
    assert "<dd>Syria</dd>" in found.get_data(as_text=True)  # the country's name, not SY

    rename = f"/admin/p/{SLUG}/signatures/{signature_id}/name"
    bad = client.post(rename, data={"csrf_token": token(client, search), "name": "=cmd()"})
    assert bad.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    ok = client.post(rename, data={"csrf_token": token(client, search), "name": "Layla  Haddād"})
    assert ok.status_code == HTTPStatus.SEE_OTHER
    withdraw = f"/admin/p/{SLUG}/signatures/{signature_id}/withdraw"
    assert (
        client.post(withdraw, data={"csrf_token": token(client, search)}).status_code
        == HTTPStatus.SEE_OTHER
    )
    with app.app_context(), session_scope() as session:
        row = session.get(Signature, signature_id)
        assert row is not None
        assert row.status == SignatureStatus.WITHDRAWN
        assert row.name is None
        assert row.email is None
    assert _actions(app)[-2:] == ["signature.rename", "signature.withdraw"]
    # Another petition's signature id is not reachable through this petition.
    other = _sign(app, "clean-water-for-idlib", "x@example.org")
    assert (
        client.post(
            f"/admin/p/{SLUG}/signatures/{other}/withdraw",
            data={"csrf_token": token(client, search)},
        ).status_code
        == HTTPStatus.NOT_FOUND
    )


def test_audit_log_pages(app: Flask, client: FlaskClient, accounts: Accounts) -> None:
    login(client, accounts.organizer)
    _new(client)
    page = client.get("/admin/p/water-for-deir-ez-zor/audit").get_data(as_text=True)
    assert "petition.create" in page
    assert f"user:{accounts.organizer_id}" in page
    assert accounts.organizer in page  # people read names, not numbers
    admin = app.test_client()
    login(admin, accounts.admin)
    assert "petition.create" in admin.get("/admin/audit").get_data(as_text=True)


def test_admin_creates_accounts_and_grants_petitions(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.admin)
    response = client.post(
        "/admin/users",
        data=_form(
            client,
            "/admin/users",
            email="new@example.org",
            role="organizer",
            password="a long enough password",
        ),
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    short = client.post(
        "/admin/users",
        data=_form(
            client, "/admin/users", email="new2@example.org", role="organizer", password="short"
        ),
    )
    assert short.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    twice = client.post(
        "/admin/users",
        data=_form(
            client,
            "/admin/users",
            email="NEW@example.org",
            role="organizer",
            password="a long enough password",
        ),
    )
    assert twice.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    with app.app_context(), session_scope() as session:
        new_id = session.scalars(sa.select(User.id).where(User.email == "new@example.org")).one()
    grant = client.post(
        f"/admin/users/{new_id}/grant", data=_form(client, "/admin/users", slug=SLUG)
    )
    assert grant.status_code == HTTPStatus.SEE_OTHER
    newcomer = app.test_client()
    assert (
        login(newcomer, "new@example.org", "a long enough password").status_code
        == HTTPStatus.SEE_OTHER
    )
    assert newcomer.get(f"/admin/p/{SLUG}").status_code == HTTPStatus.OK
    client.post(f"/admin/users/{new_id}/revoke", data=_form(client, "/admin/users", slug=SLUG))
    assert newcomer.get(f"/admin/p/{SLUG}").status_code == HTTPStatus.NOT_FOUND
    assert (
        client.post(
            f"/admin/users/{new_id}/grant", data=_form(client, "/admin/users", slug="nope")
        ).status_code
        == HTTPStatus.NOT_FOUND
    )
    assert _actions(app)[-3:] == ["account.grant", "account.login", "account.revoke"]


def test_change_password_ends_sessions(app: Flask, client: FlaskClient, accounts: Accounts) -> None:
    login(client, accounts.organizer)
    wrong = client.post(
        "/admin/account/password",
        data=_form(client, "/admin/account", current="wrong", password="a brand new password"),
    )
    assert wrong.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    from tests.admin.conftest import PASSWORD

    other_browser = app.test_client()
    login(other_browser, accounts.organizer)
    changed = client.post(
        "/admin/account/password",
        data=_form(client, "/admin/account", current=PASSWORD, password="a brand new password"),
    )
    assert changed.status_code == HTTPStatus.SEE_OTHER
    assert other_browser.get("/admin/").status_code == HTTPStatus.SEE_OTHER
    assert (
        login(client, accounts.organizer, "a brand new password").status_code
        == HTTPStatus.SEE_OTHER
    )


def test_admin_disables_and_enables_an_account(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    organizer = app.test_client()
    login(organizer, accounts.organizer)
    login(client, accounts.admin)
    path = f"/admin/users/{accounts.organizer_id}/active"
    assert (
        client.post(path, data=_form(client, "/admin/users", active="0")).status_code
        == HTTPStatus.SEE_OTHER
    )
    # Disabled: the open session ends and the password no longer works.
    assert organizer.get("/admin/").status_code == HTTPStatus.SEE_OTHER
    assert login(organizer, accounts.organizer).status_code == HTTPStatus.OK
    assert (
        client.post(path, data=_form(client, "/admin/users", active="1")).status_code
        == HTTPStatus.SEE_OTHER
    )
    assert login(organizer, accounts.organizer).status_code == HTTPStatus.SEE_OTHER
    own = f"/admin/users/{accounts.admin_id}/active"
    assert (
        client.post(own, data=_form(client, "/admin/users", active="0")).status_code
        == HTTPStatus.CONFLICT
    )
    assert _actions(app)[-2:] == ["account.enable", "account.login"]


def test_organizer_chooses_which_sites_may_embed_the_widget(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    bad = _new(client, embed_mode="listed", embed_origins="news.example/page")
    assert bad.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "is not a website address" in bad.get_data(as_text=True)
    empty = _new(client, embed_mode="listed", embed_origins="")
    assert empty.status_code == HTTPStatus.UNPROCESSABLE_ENTITY

    created = _new(
        client, embed_mode="listed", embed_origins="https://News.example\nhttps://blog.example:8443"
    )
    assert created.status_code == HTTPStatus.SEE_OTHER
    slug = "water-for-deir-ez-zor"
    assert _petition(app, slug).embed_origins == "https://blog.example:8443 https://news.example"
    _status(client, slug, "open")
    frame = client.get(f"/embed/{slug}")
    assert (
        "frame-ancestors https://blog.example:8443 https://news.example"
        in frame.headers["Content-Security-Policy"]
    )
    # The edit form shows the choice again; "no website" turns embedding off.
    page = client.get(f"/admin/p/{slug}/edit").get_data(as_text=True)
    assert "https://news.example" in page
    response = client.post(
        f"/admin/p/{slug}/edit",
        data=_form(
            client,
            f"/admin/p/{slug}/edit",
            title="Water for Deir ez-Zor",
            slug=slug,
            body=BODY,
            language="en",
            embed_mode="none",
            action="save",
        ),
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert _petition(app, slug).embed_origins == ""
    assert (
        "frame-ancestors 'none'" in client.get(f"/embed/{slug}").headers["Content-Security-Policy"]
    )
    assert _actions(app).count("widget.allow_embed") == 2


def test_a_signer_search_is_audited_without_the_address(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _sign(app, SLUG, "Layla.Haddad@example.org")
    login(client, accounts.organizer)
    search = f"/admin/p/{SLUG}/signatures"
    _search(client, "layla.haddad@example.org")
    _search(client, "someone@example.org")
    _search(client, "not an address")  # refused: nothing searched
    # An address in a query string is never looked up (nor logged as a search).
    client.get(search, query_string={"email": "layla.haddad@example.org"})
    with app.app_context(), session_scope() as session:
        rows = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "signature.search")
            .order_by(AuditEvent.id)
        ).all()
        found = [(e.actor, e.petition_id, e.affected, e.details) for e in rows]
        logged = " ".join(f"{e.details} {e.reason}" for e in rows).casefold()
    actor = f"user:{accounts.organizer_id}"
    assert found == [
        (actor, petition.id, 1, {"results": 1}),
        (actor, petition.id, 0, {"results": 0}),
    ]
    assert "layla" not in logged
    assert "someone" not in logged
