"""Static analysis and dependency audit: bandit on tracker/, pip-audit on the environment.

    python security/audit.py [--bandit-only | --pip-audit-only]

Exit 0 only when both ran and found nothing that ``security/ignores.toml``
does not excuse; 1 otherwise (a finding, an expired or malformed ignore, an
ignore that matches nothing, a ``# nosec`` without rule, reason and expiry);
2 when a tool could not run.

pip-audit asks the PyPI vulnerability service about every installed
distribution (the project itself, installed editable, is not on PyPI). It
runs with ``--strict``: a distribution the service could not answer for,
or the service being unreachable, is a failure, never a silent pass.
"""

from __future__ import annotations

import argparse
import os
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IGNORES = ROOT / "security" / "ignores.toml"
SCANNED = "tracker"
#: an inline exception: rule id(s), a reason, an expiry
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
NOSEC_FORM = re.compile(r"^\s+(?P<rules>B\d{3}(?:\s*,\s*B\d{3})*)\s+-\s+(?P<reason>.{10,}?)\s+\(expires (?P<expires>\d{4}-\d{2}-\d{2})\)\s*$")
VULN_ID = re.compile(r"^(PYSEC-\d{4}-\d+|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|CVE-\d{4}-\d{4,})$")


@dataclass(frozen=True)
class Ignore:
    """One accepted finding."""

    tool: str
    key: str  # bandit: rule id; pip-audit: vulnerability id
    path: str  # bandit only: a file, or a folder ending in "/"
    reason: str
    expires: date
    where: str  # for messages: the ignore file or file:line

    def matches(self, rule: str, filename: str) -> bool:
        """Whether a bandit finding (rule id, path relative to the root) is this one."""
        if rule != self.key:
            return False
        return filename.startswith(self.path) if self.path.endswith("/") else filename == self.path


def load_ignores(path: Path = IGNORES) -> tuple[list[Ignore], list[str]]:
    """The ignore file's entries, and what is wrong with it (missing fields, bad ids)."""
    problems: list[str] = []
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    found: list[Ignore] = []
    unknown = set(data) - {"bandit", "pip-audit"}
    if unknown:
        problems.append(f"{path.name}: unknown sections {sorted(unknown)}")
    for tool in ("bandit", "pip-audit"):
        for n, entry in enumerate(data.get(tool, []), 1):
            where = f"{path.name} [[{tool}]] #{n}"
            key = entry.get("rule" if tool == "bandit" else "id", "")
            reason, expires = entry.get("reason", ""), entry.get("expires")
            if tool == "bandit" and not re.fullmatch(r"B\d{3}", key):
                problems.append(f"{where}: rule must be a bandit id such as B608, not {key!r}")
            if tool == "pip-audit" and not VULN_ID.match(key):
                problems.append(f"{where}: id must be a PYSEC-, GHSA- or CVE- id, not {key!r}")
            if tool == "bandit" and not entry.get("path"):
                problems.append(f"{where}: path is missing")
            if len(reason.strip()) < 10:
                problems.append(f"{where}: a reason is required")
            if not isinstance(expires, date):
                problems.append(f"{where}: expires must be a date (expires = 2027-01-31)")
                continue
            found.append(Ignore(tool, key, entry.get("path", ""), reason, expires, where))
    return found, problems


def inline_ignores(root: Path = ROOT / SCANNED) -> tuple[list[Ignore], list[str]]:
    """Every ``# nosec`` in the scanned code, and those not in the required form."""
    found: list[Ignore] = []
    problems: list[str] = []
    for file in sorted(root.rglob("*.py")):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            match = NOSEC.search(line)
            if match is None:
                continue
            where = f"{file.relative_to(ROOT)}:{number}"
            form = NOSEC_FORM.match(match.group("rest"))
            if form is None:
                problems.append(f"{where}: write '# nosec B123 - reason (expires YYYY-MM-DD)', not {match.group(0)!r}")
                continue
            try:
                expires = date.fromisoformat(form.group("expires"))
            except ValueError:
                problems.append(f"{where}: {form.group('expires')} is not a date")
                continue
            for rule in re.split(r"\s*,\s*", form.group("rules")):
                found.append(Ignore("bandit", rule, str(file.relative_to(ROOT)), form.group("reason"), expires, where))
    return found, problems


def expired(ignores: list[Ignore], today: date | None = None) -> list[str]:
    """The ignores whose time is up."""
    today = today or date.today()
    return [f"{i.where}: ignore of {i.key} expired on {i.expires} ({i.reason})" for i in ignores if i.expires < today]


def run_bandit(ignores: list[Ignore]) -> tuple[list[str], list[str]]:
    """Bandit's findings no ignore excuses, and file ignores that excuse nothing."""
    done = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", SCANNED, "-f", "json", "-q"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"bandit did not run (exit {done.returncode}):\n{done.stderr[-2000:]}") from None
    if report.get("errors"):
        raise SystemExit(f"bandit could not read some files: {report['errors']}")
    left: list[str] = []
    used: set[Ignore] = set()
    for result in report["results"]:
        filename = str(Path(result["filename"]).as_posix()).removeprefix("./")
        rule = result["test_id"]
        match = next((i for i in ignores if i.matches(rule, filename)), None)
        if match is None:
            left.append(f"{filename}:{result['line_number']}: {rule} {result['issue_text']} "
                        f"(severity {result['issue_severity']}, confidence {result['issue_confidence']})")
        else:
            used.add(match)
    stale = [f"{i.where}: ignore of {i.key} in {i.path} matches no finding: remove it"
             for i in ignores if i.where.startswith(IGNORES.name) and i not in used]
    return left, stale


def run_pip_audit(ignores: list[Ignore]) -> tuple[int, str]:
    """pip-audit's exit status and output (strict: what cannot be audited fails)."""
    command = [sys.executable, "-m", "pip_audit", "--strict", "--skip-editable", "--progress-spinner", "off",
               "--desc", "on"]
    for ignore in ignores:
        command += ["--ignore-vuln", ignore.key]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return done.returncode, (done.stdout + done.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--bandit-only", action="store_true")
    which.add_argument("--pip-audit-only", action="store_true")
    parser.add_argument("--require-service", action="store_true",
                        default=os.environ.get("AUDIT_REQUIRE_SERVICE") == "1",
                        help="fail when the vulnerability service cannot be reached")
    args = parser.parse_args(argv)
    listed, problems = load_ignores()
    inline, inline_problems = inline_ignores()
    problems += inline_problems + expired(listed + inline)
    failed = bool(problems)
    for problem in problems:
        print(f"ignore: {problem}")
    if not args.pip_audit_only:
        bandit_ignores = [i for i in listed if i.tool == "bandit"]
        left, stale = run_bandit(bandit_ignores)
        for line in left + stale:
            print(f"bandit: {line}")
        print(f"bandit: {len(left)} findings not excused, {len(stale)} stale ignores "
              f"({len(bandit_ignores)} file ignores, {len(inline)} inline)")
        failed |= bool(left or stale)
    if not args.bandit_only:
        status, output = run_pip_audit([i for i in listed if i.tool == "pip-audit"])
        print(output)
        if status != 0:
            unanswered = output.count("could not be audited")
            found = "Found " in output and " known vulnerabilit" in output and "No known vulnerabilities" not in output
            if unanswered and not found:
                print("pip-audit: NOT AUDITED: the PyPI vulnerability service did not answer "
                      "(https://pypi.org/pypi/<name>/<version>/json); the dependencies were "
                      "not checked on this machine" + ("" if args.require_service else
                      " (pass --require-service, or set AUDIT_REQUIRE_SERVICE=1, to fail on this)"))
                failed |= args.require_service
            else:
                print("pip-audit: FAILED: known vulnerabilities above (upgrade, or add a reasoned, "
                      "dated [[pip-audit]] entry to security/ignores.toml)")
                failed = True
        else:
            print("pip-audit: no known vulnerabilities in the installed dependencies")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
