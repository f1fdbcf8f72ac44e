"""The README as a newcomer reads it, from a clean copy of the repository: every command it
shows runs as printed, and a new parent signs up in the browser with the code found where
the README says (tests/e2e/newparent_browser.py, at 360 and 1280 px).

The copy holds the repository's files as a clone has them (`git ls-files`: no `var/`, no
caches) and this virtualenv as its `.venv` (`make install` is `pip install -e .`, which
would point this virtualenv at the copy; the test checks the recipe instead and `.ci/run`
runs it for real). `make run` there is `scripts/run.sh` on a vhost of its own and free
ports; the shell blocks are run with `localhost:8000` read as that port, and every inline
`.venv/bin/python -m ...` command is run as printed where that is harmless, or asked for
its `--help` where it needs a file or a placeholder filled in.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.broker import create_vhost, delete_vhost
from tests.support.browser_process import play
from tests.support.processes import ROOT, free_port

pytestmark = pytest.mark.e2e

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)
INLINE = sorted(
    {" ".join(c.split()) for c in re.findall(r"`(\.venv/bin/python -m [^`]+)`", README)}
)
# How each inline command is checked: "run" as printed (against the running copy), or
# "help": its module (and subcommand) answers --help, since it needs a file, a password typed
# on a terminal, a placeholder filled in, or a whole scenario of its own; "import": the
# modules a placeholder stands for import.
INLINE_CHECKS = {
    ".venv/bin/python -m shared.db.migrate gateway": "run",
    ".venv/bin/python -m gateway.cli demo": "run",
    ".venv/bin/python -m gateway.cli demo-applications var/demo/small/applications.jsonl": "run",
    ".venv/bin/python -m tools.dead_letters queues": "run",
    ".venv/bin/python -m tools.topology": "run",
    ".venv/bin/python -m services.registration.erasure [--retention-days N]": "help",
    ".venv/bin/python -m gateway.cli create-staff --username lan.th0001 --school TH-0001": "help",
    ".venv/bin/python -m gateway.cli create-department --username phong.gd": "help",
    ".venv/bin/python -m gateway.cli create-helpdesk --username hotro.p4 --ward 00004": "help",
    ".venv/bin/python -m chaos erasure": "help",
    ".venv/bin/python -m chaos [scenario ...] [--count N]": "help",
    ".venv/bin/python -m tools.verify_allocation results.csv": "help",
    ".venv/bin/python -m tools.verify_allocation results.csv --commitment <hex> --digest <hex>": (
        "help"
    ),
    ".venv/bin/python -m services.allocation.cli import-city": "help",
    ".venv/bin/python -m services.registration.cli import-register": "help",
    ".venv/bin/python -m tools.dead_letters replay <queue>": "help",
    ".venv/bin/python -m tools.dead_letters list <queue>": "help",
    ".venv/bin/python -m tools.cluster": "help",
    ".venv/bin/python -m tools.cluster --broker-only": "help",
    ".venv/bin/python -m chaos cluster_nodes": "help",
    ".venv/bin/python -m bench.cluster": "help",
    ".venv/bin/python -m bench.cluster_intake": "help",
    ".venv/bin/python -m bench.capacity_model": "help",
    ".venv/bin/python -m bench.<name>": "import",
}
# The README's other shell blocks (after `make run`'s and the API's), by their first line:
# "run" as printed in the copy; "help" (the module answers --help: it rewrites a broker);
# "dry" (`make -n` of the target: it starts a whole other system).
OTHER_BLOCKS = {
    "curl -s localhost:9101/metrics | grep '^registration_applications'": "run",
    "promtool check rules ops/prometheus/alerts.yml": "run",
    "make cluster": "dry",
    ".venv/bin/python -m tools.migrate_queues --amqp-uri pyamqp://guest:guest@127.0.0.1:5672/"
    " --to quorum": "help",
}
# `<name>` stands for a benchmark: each module `make bench` runs must import.
IMPORT_BENCHMARKS = (
    ".venv/bin/python -c 'import importlib, bench.__main__ as b;"
    " [importlib.import_module(name) for name in b.BENCHMARKS]'"
)
STARTUP_SECONDS = 180
CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class Copy:
    """The clean copy, its `make run` and where that listens."""

    root: Path
    port: int
    env: dict[str, str]
    log: Path

    def shell(self, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a shell script in the copy, with localhost:8000 read as the copy's port."""
        script = script.replace("localhost:8000", f"127.0.0.1:{self.port}")
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _clean_copy(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    """A clean copy of the repository with `make run`'s script running in it."""
    root = _clean_copy(tmp_path_factory.mktemp("clone"))
    amqp_uri, port = create_vhost(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {
        "AMQP_URI": amqp_uri,
        "GATEWAY_PORT": str(port),
        "SMTP_PORT": str(free_port()),
        "RATELIMIT_KEY_PREFIX": f"ts-readme-{uuid.uuid4().hex[:10]}",
    }
    log = root / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while "applications submitted now" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make run did not come up:\n{log.read_text(errors='replace')[-6000:]}")
            time.sleep(1)
        yield Copy(root, port, env, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        delete_vhost(amqp_uri)


def test_the_readme_names_nothing_outside_the_repository() -> None:
    targets = re.findall(r"\]\(([^)#]+)\)|src=\"([^\"]+)\"", README)
    local = [a or b for a, b in targets if not (a or b).startswith("http")]
    assert local, "the README links its screenshots"
    assert [t for t in local if not (ROOT / t).is_file()] == []
    assert "../" not in README


def test_every_make_target_it_names_exists_and_make_run_is_install_then_run_sh() -> None:
    targets = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", README))
    assert {"run", "test", "lint", "bench", "seed", "chaos", "i18n"} <= targets
    for target in sorted(targets):
        dry = subprocess.run(
            ["make", "--no-print-directory", "-n", target], cwd=ROOT, capture_output=True, text=True
        )
        assert dry.returncode == 0, f"make {target}: {dry.stderr}"
    run = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.stdout.strip().splitlines()[-1] == "bash scripts/run.sh"


def test_every_inline_command_is_accounted_for() -> None:
    assert set(INLINE) == set(INLINE_CHECKS), "a README command the test does not check"


def test_make_run_prints_the_portal_and_no_banner_or_traceback(copy: Copy) -> None:
    output = copy.log.read_text(errors="replace")

    assert f"Portal         http://127.0.0.1:{copy.port}/" in output
    assert "Eventlet is deprecated" not in output
    assert "Traceback" not in output, output[-4000:]
    assert "sample families  phone 0900000000" in output


def test_the_shell_blocks_run_as_printed(copy: Copy) -> None:
    make_block, api_block = BLOCKS[:2]
    assert [line.split("#")[0].split() for line in make_block.splitlines()[:1]] == [["make", "run"]]
    done = copy.shell(api_block)

    assert done.returncode == 0, done.stderr
    application, inbox, catchment = done.stdout.strip().splitlines()
    assert '"status":"verified"' in application and '"ward_code":"00256"' in application
    # Checked in the receipt's transaction: one notice says both, "received and verified".
    assert '"messages":[' in inbox and '"template":"application_checked"' in inbox
    assert '"code":"TH-0003"' in catchment


def test_a_new_parent_finds_the_sign_up_code_where_the_readme_says(copy: Copy) -> None:
    assert "var/sms/" in README and "ls -t var/sms | head -1" in README
    url = f"http://127.0.0.1:{copy.port}/api/v1/auth"
    phone, password = "0987650001", "a long passphrase 1"
    sent = requests.post(f"{url}/signup", json={"phone": phone, "password": password}, timeout=30)
    assert sent.status_code in (200, 202), sent.text

    deadline, code = time.monotonic() + 30, None
    while code is None and time.monotonic() < deadline:
        newest = copy.shell("ls -t var/sms | head -1").stdout.strip()
        text = (copy.root / "var" / "sms" / newest).read_text() if newest else ""
        found = re.search(r"\b(\d{6})\b", text) if "+84987650001" in text else None
        code = found.group(1) if found else None
        time.sleep(0.5)
    assert code is not None, "no code in var/sms"
    assert f"...001: Mã OTP Tuyển sinh: {code}" in copy.log.read_text(errors="replace")
    verified = requests.post(
        f"{url}/signup/verify", json={"phone": phone, "code": code}, timeout=30
    )
    assert verified.status_code == 200, verified.text


def _first_line(block: str) -> str:
    return block.strip().splitlines()[0].split("#")[0].strip()


def test_every_other_shell_block_is_accounted_for() -> None:
    assert {_first_line(block) for block in BLOCKS[2:]} == set(OTHER_BLOCKS)


@pytest.mark.parametrize("block", BLOCKS[2:], ids=_first_line)
def test_each_other_shell_block(copy: Copy, block: str) -> None:
    check = OTHER_BLOCKS[_first_line(block)]
    if check == "dry":
        script = f"make -n {_first_line(block).split()[1]} >/dev/null"
    elif check == "help":
        script = " ".join(_first_line(block).split()[:3]) + " --help"
    else:
        script = block
    done = copy.shell(script)

    assert done.returncode == 0, f"{script}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("command", sorted(INLINE_CHECKS))
def test_each_inline_command(copy: Copy, command: str) -> None:
    if INLINE_CHECKS[command] == "import":
        command = IMPORT_BENCHMARKS
    elif INLINE_CHECKS[command] == "help":
        words = command.split()[:5]  # .venv/bin/python -m module [subcommand]
        if len(words) == 5 and not re.fullmatch(r"[a-z][a-z-]*", words[4]):
            words = words[:4]
        command = " ".join(words) + " --help"
    done = copy.shell(command)

    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def test_a_new_parent_signs_up_and_registers_in_the_browser_at_360_and_1280_px(
    copy: Copy, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():  # fail, never skip: .ci/run installs it
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    readme_child = re.search(r'"citizen_id": "(\d{12})"', BLOCKS[1])
    assert readme_child is not None
    phones = ["09" + str(uuid.uuid4().int)[:8] for _ in range(2)]
    config = {
        "root": str(copy.root),
        "url": f"http://127.0.0.1:{copy.port}",
        "phones": phones,
        "taken": [readme_child.group(1)],
    }
    played = play("newparent_browser", config, tmp_path / "newparent.json", timeout=600)
    log = copy.log.read_text(errors="replace")[-4000:]
    assert played.returncode == 0, f"{played.output}\n{log}"
    assert "[portal] the new parents signed up and registered their children" in played.stdout
