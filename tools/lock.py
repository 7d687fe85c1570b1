"""Regenerate the two lock files from the direct dependencies (requirements/*.in).

    .venv-gateway/bin/python -m tools.lock [gateway] [rasa]   # both by default
    .venv-gateway/bin/python -m tools.lock gateway --upgrade  # newer releases

Every pin carries its hashes (``pip install --require-hashes`` checks them), and the pins
already in a lock are kept, so adding a line to an ``.in`` file adds that package and its
missing dependencies, nothing else.

- ``gateway.txt`` from ``gateway.in`` + ``gateway-test.in``: pip-compile, with the hashes
  of every file of each release; ``--upgrade`` moves to the newest releases allowed.
- ``rasa.txt`` from ``rasa.in`` + ``rasa-test.in``, WITHOUT resolution: ``rasa`` and
  ``rasa-sdk`` declare ``Requires-Python <3.11`` but run on 3.11, and the set of releases
  known to work on 3.11 contradicts some of rasa's declared ranges (matplotlib 3.7 where
  rasa says <3.6), so no resolver accepts it. The pins are those already in ``rasa.txt``
  (or given with ``==`` in the ``.in`` files); the tool walks the dependencies of the
  direct ones (names and markers, not version ranges) to keep exactly the packages
  needed, pins a missing dependency to its newest release that fits the ranges asked and
  this Python, and records the hash of the file pip picks for this platform.

Runs in the gateway's environment (pip-tools is one of its test tools); needs the
package index.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from common.config import PROJECT_ROOT

REQUIREMENTS = PROJECT_ROOT / "requirements"
LOCKS = {
    "gateway": ("gateway.in", "gateway-test.in"),
    "rasa": ("rasa.in", "rasa-test.in"),
}


def compile_args(env: str, upgrade: bool) -> list[str]:
    return [
        "--quiet",
        "--generate-hashes",
        "--allow-unsafe",
        "--strip-extras",
        "--no-emit-index-url",
        "--no-emit-find-links",
        *(["--upgrade"] if upgrade else []),
        "--output-file",
        str(REQUIREMENTS / f"{env}.txt"),
        *(str(REQUIREMENTS / name) for name in LOCKS[env]),
    ]


def pins_of(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by normalised name."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    if not path.exists():
        return pins
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip().rstrip("\\").strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        for spec in requirement.specifier:
            if spec.operator == "==":
                pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def requirements_of(path: Path) -> list:
    from packaging.requirements import Requirement

    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            found.append(Requirement(line))
    return found


def pip_report(requirements: list[str], ignore_python: bool) -> list[dict]:
    """What pip would install for ``requirements`` alone (no dependencies): metadata, file."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--dry-run",
                "--no-deps",
                "--ignore-installed",
                *(["--ignore-requires-python"] if ignore_python else []),
                "--report",
                str(report),
                *requirements,
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        return json.loads(report.read_text(encoding="utf-8"))["install"]


def lock_without_resolution(env: str) -> None:
    """rasa.txt: the pinned closure of the direct dependencies, with hashes (see above)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    output = REQUIREMENTS / f"{env}.txt"
    direct = [(n, r) for n in LOCKS[env] for r in requirements_of(REQUIREMENTS / n)]
    pins = pins_of(output)
    for _, requirement in direct:
        pins.update(pins_of_requirement(requirement))
    wanted: dict[str, set[str]] = defaultdict(set)  # name -> extras asked
    asked: dict[str, list[str]] = defaultdict(list)  # name -> specifiers asked (for new pins)
    via: dict[str, set[str]] = defaultdict(set)
    for source, requirement in direct:
        name = canonicalize_name(requirement.name)
        wanted[name] |= set(requirement.extras)
        asked[name].append(str(requirement.specifier))
        via[name].add(f"-r requirements/{source}")
    metadata: dict[str, dict] = {}
    while missing := [n for n in wanted if n not in metadata]:
        new = [n for n in missing if n not in pins]
        if new:
            specs = [f"{n}{','.join(s for s in asked[n] if s)}" for n in new]
            for item in pip_report(specs, ignore_python=False):
                pins[canonicalize_name(item["metadata"]["name"])] = item["metadata"]["version"]
        for item in pip_report([f"{n}=={pins[n]}" for n in missing], ignore_python=True):
            name = canonicalize_name(item["metadata"]["name"])
            metadata[name] = item
            for line in item["metadata"].get("requires_dist", []):
                dependency = Requirement(line)
                extras = wanted[name] | {""}
                if dependency.marker and not any(
                    dependency.marker.evaluate({"extra": extra}) for extra in extras
                ):
                    continue
                dep = canonicalize_name(dependency.name)
                if not set(dependency.extras) <= wanted[dep]:
                    metadata.pop(dep, None)  # walked again with the new extras
                wanted[dep] |= set(dependency.extras)
                asked[dep].append(str(dependency.specifier))
                via[dep].add(item["metadata"]["name"])
    lines = [
        "#",
        f"# Generated by `python -m tools.lock {env}` from "
        + " and ".join(f"requirements/{n}" for n in LOCKS[env])
        + ", without resolution",
        "# (see tools/lock.py): every pin is kept, every hash is of the file for this platform.",
        f"# Install: pip install --no-deps --ignore-requires-python --require-hashes -r {env}.txt",
        "#",
    ]
    for name in sorted(metadata):
        item = metadata[name]
        digest = item["download_info"]["archive_info"]["hashes"]["sha256"]
        lines.append(f"{item['metadata']['name']}=={item['metadata']['version']} \\")
        lines.append(f"    --hash=sha256:{digest}")
        lines.extend(f"    # via {parent}" for parent in sorted(via[name]))
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")


def pins_of_requirement(requirement) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from packaging.utils import canonicalize_name

    return {
        canonicalize_name(requirement.name): spec.version
        for spec in requirement.specifier
        if spec.operator == "=="
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("envs", nargs="*", help=f"among {', '.join(LOCKS)} (default: all)")
    parser.add_argument("--upgrade", action="store_true", help="gateway: newest releases")
    args = parser.parse_args(argv)
    if unknown := set(args.envs) - set(LOCKS):
        parser.error(f"unknown environment: {', '.join(sorted(unknown))}")
    os.environ["CUSTOM_COMPILE_COMMAND"] = "python -m tools.lock"
    from piptools.scripts.compile import cli

    for env in args.envs or LOCKS:
        print(f"lock: requirements/{env}.txt", file=sys.stderr)
        if env == "rasa":
            lock_without_resolution(env)
            continue
        try:
            cli.main(compile_args(env, args.upgrade), standalone_mode=False)
        except SystemExit as exit_:
            if exit_.code:
                return int(exit_.code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
