"""Containerfile and compose.yaml, checked as far as a machine without a container engine can.

No engine runs where the tests run (``docker`` there is only a client), so the image is
never built here. Instead the tests read both files and check what they say against the
project (packages, settings, commands), and build the image's Python contents into a
folder by running the Containerfile's own pip and venv commands, with its absolute paths
moved under that folder, then start its CMD and read the Arabic petition page from it.
What that leaves unchecked: the base image, apt-get inside it, the user switch, and
compose's networking (README, "Deployment").
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from petition.config import PROJECT_ROOT, Settings
from tests.conftest import free_port

CONTAINERFILE = PROJECT_ROOT / "Containerfile"
COMPOSE = PROJECT_ROOT / "compose.yaml"
SETTINGS = {f"PETITION_{f.name.upper()}" for f in dataclasses.fields(Settings)} - {
    "PETITION_TESTING"
}
SLUG = "defend-the-people-of-daraa"


@dataclasses.dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def stages() -> list[Stage]:
    """The Containerfile's stages: each instruction with its arguments on one line."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    found: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), " ".join(args.split())
        if keyword == "FROM":
            base, _, name = args.partition(" AS ")
            found.append(Stage(base=base, name=name))
        else:
            found[-1].instructions.append((keyword, args))
    return found


def env_of(stage: Stage) -> dict[str, str]:
    env = {}
    for args in stage.all("ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def compose() -> dict[str, object]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, dict[str, object]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


# --- what the files say ------------------------------------------------------------


def test_containerfile_builds_in_two_stages_and_runs_as_a_user_of_its_own() -> None:
    build, runtime = stages()
    assert build.name == "build"
    for stage in (build, runtime):
        assert re.fullmatch(r"docker\.io/library/python:3\.11-slim-\w+", stage.base)
    assert runtime.all("COPY")[0].startswith("--from=build ")
    [user] = runtime.all("USER")
    assert user not in {"root", "0"}
    [useradd] = [r for r in runtime.all("RUN") if "useradd" in r]
    assert f" {user}" in useradd
    assert "--uid 10001" in useradd
    # The last USER comes after every RUN: nothing runs as root once the app is installed.
    keywords = [kw for kw, _ in runtime.instructions]
    assert keywords.index("USER") > max(i for i, kw in enumerate(keywords) if kw == "RUN")


def test_containerfile_copies_only_files_that_exist() -> None:
    for stage in stages():
        for args in stage.all("COPY"):
            if args.startswith("--from="):
                continue
            *sources, _ = args.split()
            for source in sources:
                assert (PROJECT_ROOT / source).exists(), source


def test_image_installs_the_pdf_fonts_and_pango_from_the_install_script() -> None:
    [apt] = [r for r in stages()[-1].all("RUN") if "apt-get install" in r]
    named = set(re.findall(r"\b(?:lib[\w.-]+|fonts-[\w-]+)", apt))
    listed = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "install-system-packages"), "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert named == {"libpango-1.0-0", "libpangoft2-1.0-0", "fonts-noto-core", "fonts-dejavu-core"}
    assert named <= set(listed)


def test_the_web_app_runs_without_docstrings_from_bytecode_the_image_compiled() -> None:
    runtime = stages()[-1]
    assert json.loads(runtime.all("CMD")[0])[:4] == ["python", "-OO", "-m", "gunicorn"]
    [install] = [r for r in runtime.all("RUN") if "pip install" in r]
    # After pip: the bytecode pip wrote is for plain python, the CLI's (its --help needs
    # the docstrings -OO leaves out).
    assert install.index("pip install") < install.index(
        "/opt/petition/bin/python -OO -m compileall -q /opt/petition/lib"
    )


def test_image_settings_are_settings_the_app_reads() -> None:
    env = env_of(stages()[-1])
    assert {k for k in env if k.startswith("PETITION_")} <= SETTINGS
    assert env["PETITION_ENV"] == "production"


def test_compose_runs_the_database_redis_web_worker_and_a_mail_catcher() -> None:
    found = services()
    assert {"postgres", "redis", "mail", "migrate", "web", "worker"} <= set(found)
    built = [s for s in found.values() if "build" in s]
    assert [b["build"] for b in built] == [{"context": ".", "dockerfile": "Containerfile"}]
    image = built[0]["image"]
    for name in ("migrate", "web", "worker"):
        assert found[name]["image"] == image
    assert found["worker"]["command"] == ["petition", "worker"]
    assert found["migrate"]["command"] == ["flask", "--app", "petition", "db", "upgrade"]
    for service in found.values():
        for needed in service.get("depends_on", {}):  # type: ignore[attr-defined]
            assert needed in found
        for port in service.get("ports", []):  # type: ignore[attr-defined]
            assert port.startswith("127.0.0.1:"), "publish on loopback only"


def test_compose_settings_are_settings_the_app_reads_and_point_at_its_services() -> None:
    found = services()
    for name in ("migrate", "web", "worker"):
        env = found[name]["environment"]
        assert isinstance(env, dict)
        assert {k for k in env if k.startswith("PETITION_")} <= SETTINGS
        assert env["PETITION_SECRET_KEY"].startswith("${PETITION_SECRET_KEY:?")
        assert "@postgres:5432/" in env["PETITION_DATABASE_URL"]
        assert env["PETITION_RATELIMIT_STORAGE_URI"].startswith("redis://redis:6379/")
        assert env["PETITION_MAIL_URL"] == "smtp://mail:1025"  # Mailpit's SMTP port


# --- the image's contents, built by the Containerfile's commands ------------------


def _moved(text: str, root: Path) -> str:
    """``text`` with the image's absolute paths moved under ``root``."""
    return re.sub(
        r"(?<![\w./])/(src|wheels|opt/petition|etc/petition|var/lib/petition)\b",
        lambda m: f"{root}/{m.group(1)}",
        text,
    )


def _copy(source: str, target: Path) -> None:
    """COPY: a file into a folder (``./``), or a folder's contents into a folder."""
    origin = PROJECT_ROOT / source
    if origin.is_dir():
        skip = shutil.ignore_patterns("__pycache__", "*.mo", "*.mo.*")  # as a clean clone
        shutil.copytree(origin, target, ignore=skip, dirs_exist_ok=True)
    else:
        destination = target / origin.name if target.is_dir() else target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(origin, destination)


def build_image(root: Path) -> None:
    """The image's files under ``root``, made by the Containerfile's WORKDIR, COPY and RUN
    steps; apt-get and useradd need root inside an image and are checked above instead."""
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # `python` is this one
    for stage in stages():
        workdir = root
        for keyword, args in stage.instructions:
            if keyword == "WORKDIR":
                workdir = Path(_moved(args, root))
                workdir.mkdir(parents=True, exist_ok=True)
            # COPY --from=build moves /wheels between stages: one folder here.
            elif keyword == "COPY" and not args.startswith("--from="):
                *sources, target = args.split()
                into = Path(_moved(target, root)) if target.startswith("/") else workdir / target
                if target.endswith("/"):  # as COPY does: a folder, made when missing
                    into.mkdir(parents=True, exist_ok=True)
                for source in sources:
                    _copy(source, into)
            elif keyword == "RUN" and not re.search(r"apt-get|useradd", args):
                command = _moved(args, root)
                done = subprocess.run(
                    ["sh", "-c", command],
                    cwd=workdir,
                    env={**os.environ, "PATH": path},
                    capture_output=True,
                    text=True,
                    check=False,
                )
                assert done.returncode == 0, command + done.stdout[-2000:] + done.stderr[-3000:]


def image_env(root: Path) -> dict[str, str]:
    """The image's ENV, and what compose.yaml adds to it (a secret, a mail server)."""
    env = {k: _moved(v, root) for k, v in env_of(stages()[-1]).items()}
    env["PATH"] = env["PATH"].replace("$PATH", os.environ["PATH"])
    return {
        **env,
        "HOME": str(root / "var" / "lib" / "petition"),
        "PETITION_SECRET_KEY": "container-test-" + "x" * 32,
        "PETITION_MAIL_URL": "smtp://127.0.0.1:1",
    }


def _commands(help_text: str) -> list[str]:
    listed = help_text.split("Commands:", 1)[-1]
    return sorted(line.split()[0] for line in listed.splitlines() if line.startswith("  "))


def _get(url: str, server: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback)
                return str(answer.read().decode())
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                _, errors = (
                    server.communicate(timeout=10) if server.poll() is not None else ("", "")
                )
                raise AssertionError(f"gunicorn did not answer {url}: {errors}") from None
            time.sleep(0.3)


@pytest.mark.slow
def test_image_contents_serve_the_arabic_page_and_refuse_an_uncompiled_catalog(
    tmp_path: Path,
) -> None:
    """The operator's path in the image: migrate, import, serve; from its own folder."""
    build_image(tmp_path)
    env = image_env(tmp_path)
    home = Path(env["PETITION_INSTANCE_PATH"])
    home.mkdir(parents=True, exist_ok=True)

    def run(*args: str, **more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=home, env=env | more, capture_output=True, text=True, timeout=120, check=False
        )

    # `petition` has the commands of `flask --app wsgi petition` in the checkout.
    helped = run("petition", "--help")
    assert helped.returncode == 0, helped.stderr
    in_checkout = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "petition", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert _commands(helped.stdout) == _commands(in_checkout) != []

    migrate = services()["migrate"]["command"]
    assert isinstance(migrate, list)
    migrated = run(*migrate)
    assert migrated.returncode == 0, migrated.stderr
    resources = Path(
        run("python", "-c", "from petition import config; print(config.RESOURCES)").stdout.strip()
    )
    assert resources.is_relative_to(tmp_path / "opt" / "petition")
    imported = run("petition", "import", *map(str, sorted((resources / "content").glob("*.md"))))
    assert imported.returncode == 0, imported.stderr

    cmd = json.loads(stages()[-1].all("CMD")[0])
    port = free_port()
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"  # not 0.0.0.0:8000 on a shared machine
    with subprocess.Popen(
        [_moved(arg, tmp_path) for arg in cmd],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            page = _get(f"http://127.0.0.1:{port}/p/{SLUG}?lang=ar", server)
        finally:
            server.terminate()
        _, logged = server.communicate(timeout=60)
    assert '<html lang="ar" dir="rtl">' in page
    assert "NO BYTECODE" not in logged  # gunicorn.conf.py: the image's compileall ran
    for label in ("الاسم الكامل", "عنوان البريد الإلكتروني", "البلد"):
        assert re.search(rf"<label[^>]*>\s*{label}", page), label

    # Without the Arabic catalog, production refuses to start; development warns.
    (resources / "translations" / "ar" / "LC_MESSAGES" / "messages.mo").unlink()
    refused = run("petition", "--help")
    assert refused.returncode != 0
    assert "catalogs not compiled" in refused.stderr
    assert "ar/LC_MESSAGES/messages.po" in refused.stderr
    warned = run("petition", "--help", PETITION_ENV="development")
    assert warned.returncode == 0, warned.stderr
    assert "catalogs not compiled" in warned.stderr
