#!/usr/bin/env python3
"""Check the CI examples: every file under examples/ci and action.yml parses as YAML, and every
`devlic ...` command they run exists, takes the flags given, and succeeds against devlic-sim.

No workflow runner exists here, so this mimics the steps: for each file (and each GitHub matrix
entry) it starts a fresh simulator on 127.0.0.1, runs the file's devlic commands in document order
in a scratch folder laid out like the user's repository, and checks exit codes and outputs.

Extraction rules (kept deliberately simple; the workflows are written to fit them):
  * text fields `run`, `script`, `before_script`, `inlineScript`, `bash`: every line whose first
    word is `devlic` is one command; it ends at the first shell operator outside quotes
    (`>`, `>>`, `2>`, `|`, `||`, `&&`, `;`, `#`). No line continuations inside devlic commands.
  * a step `uses: .../devlic@...` (the composite action) with `with.command`: the command is
    `devlic <command> <args>` (args split on whitespace, as the action does).
  * a container whose `command` list starts with `devlic`: `command + args`.
  * a generic line such as `devlic "$DEVLIC_COMMAND" ...` (in action.yml) is skipped: the
    workflows exercise it through the action's inputs.
Variables: literal `env`/`variables` values of the file, GitHub `${{ matrix.* }}`, and test values
for runner variables (RUNNER_TEMP, GITHUB_STEP_SUMMARY, AGENT_TEMPDIRECTORY, ...). An unknown
variable in a devlic command is an error. Sign-in uses the simulator's client secret, and the
connection flags --graph-url/--authority-url are appended to commands that read the tenant.
Expected: exit 0, or 0/2 for `plan --detailed-exitcode`; a usage error (clap exits 2 too) fails.

Needs python3 and PyYAML (`python3 -c "import yaml"`); builds devlic and devlic-sim with cargo
(set CARGO_TARGET_DIR to reuse a target folder), or takes them from --bin-dir.
Usage: python3 scripts/check-ci-examples.py [--bin-dir target/debug]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import yaml
except ImportError:
    sys.exit("error: PyYAML is missing\nhelp: pip install pyyaml (or apt-get install python3-yaml), then rerun")

ROOT = Path(__file__).resolve().parent.parent
TEXT_KEYS = {"run", "script", "before_script", "inlineScript", "bash"}
READS_TENANT = {"plan", "apply", "snapshot", "export", "skus"}
# Simulator tenants: the fixture file and the domain to sign in to.
TENANTS = {
    "contoso": ("examples/tenants/contoso.json", "contoso.onmicrosoft.com"),
    "northwind": ("examples/tenants/northwind.json", "northwindschools.onmicrosoft.com"),
}
SHELL_OPS = ("2>>", "2>", ">>", ">", "||", "|", "&&", ";", "#")
VAR = re.compile(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}|\$\{(\w+)\}|\$(\w+)")


class CheckError(Exception):
    """A check failed; the message says which file and command."""


def build() -> tuple[Path, Path]:
    """Builds devlic and devlic-sim, returns their paths."""
    built = subprocess.run(["cargo", "build", "--locked", "-q", "-p", "devlic-cli", "-p", "devlic-graph-sim"], cwd=ROOT)
    if built.returncode != 0:
        sys.exit("error: cargo build failed (see above)\nhelp: fix the build, or pass --bin-dir with built devlic and devlic-sim")
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    target = Path(json.loads(meta.stdout)["target_directory"]) / "debug"
    return target / "devlic", target / "devlic-sim"


def ci_files() -> list[Path]:
    files = [ROOT / "action.yml"]
    files += sorted(p for p in (ROOT / "examples/ci").rglob("*") if p.suffix in (".yml", ".yaml"))
    return files


def cut_at_shell_operator(line: str) -> str:
    """The command part of a shell line: up to the first operator outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif i > 0 and line[i - 1].isspace():
            for op in SHELL_OPS:
                if line.startswith(op, i) and (i + len(op) == len(line) or line[i + len(op)].isspace() or op != "#" and op.endswith(">")):
                    return line[:i].rstrip()
    return line.rstrip()


def walk(node, found: list, env: dict, matrix: list):
    """Collects commands (in document order), literal env values and matrix entries."""
    if isinstance(node, dict):
        for key in ("env", "variables"):
            value = node.get(key)
            if isinstance(value, dict):
                for k, v in value.items():
                    # Literal values, and `${{ matrix.* }}` which expand() resolves per entry.
                    if isinstance(v, (str, int)) and "${{" not in re.sub(r"\$\{\{\s*matrix\.[\w-]+\s*\}\}", "", str(v)):
                        env.setdefault(str(k), str(v))
        strategy = node.get("strategy")
        if isinstance(strategy, dict) and isinstance(strategy.get("matrix"), dict):
            # Jobs share entries by `tenant` (the plan job has the plan app's id, the apply
            # job the apply app's): one merged entry, so one simulator, per tenant.
            for entry in strategy["matrix"].get("include", []):
                same = [m for m in matrix if m.get("tenant") == entry.get("tenant")]
                if same:
                    same[0].update(entry)
                else:
                    matrix.append(dict(entry))
        uses = node.get("uses")
        with_ = node.get("with")
        if isinstance(uses, str) and re.search(r"(^\./?$|/devlic@)", uses) and isinstance(with_, dict):
            if with_.get("command"):
                line = f"devlic {with_['command']} {with_.get('args', '')}".strip()
                if with_["command"] == "plan" and "--out" not in line.split():
                    line += ' --out "$RUNNER_TEMP/devlic-plan-$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT.json"'  # as action.yml does
                found.append(("action", line))
        command = node.get("command")
        if isinstance(command, list) and command and command[0] == "devlic":
            found.append(("container", shlex.join([str(c) for c in command + node.get("args", [])])))
        for key, value in node.items():
            if key in TEXT_KEYS:
                texts = value if isinstance(value, list) else [value]
                for text in texts:
                    if not isinstance(text, str):
                        # e.g. a GitLab script line with an unquoted `: ` that YAML read as a map
                        raise CheckError(f"`{key}` holds a {type(text).__name__}, not a command line: {text!r} (quote the line)")
                    for line in text.splitlines():
                        line = line.strip()
                        if re.match(r"devlic(\s|$)", line):
                            found.append(("shell", cut_at_shell_operator(line)))
            elif isinstance(value, (dict, list)):
                walk(value, found, env, matrix)
    elif isinstance(node, list):
        for item in node:
            walk(item, found, env, matrix)


def expand(command: str, env: dict, entry: dict) -> str:
    def sub(m: re.Match) -> str:
        if m.group(1):
            if m.group(1) not in entry:
                raise CheckError(f"`{command}`: matrix.{m.group(1)} is not in the matrix")
            return str(entry[m.group(1)])
        name = m.group(2) or m.group(3)
        if name not in env:
            raise CheckError(f"`{command}`: unknown variable ${name}")
        return expand(env[name], env, entry) if "$" in env[name] else env[name]

    return VAR.sub(sub, command)


class Sim:
    """A devlic-sim process serving one tenant file on a random loopback port."""

    def __init__(self, sim: Path, tenant_file: Path):
        self.proc = subprocess.Popen(
            [str(sim), "serve", "--tenant", str(tenant_file), "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        m = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not m:
            self.stop()
            raise CheckError(f"devlic-sim did not start: {line!r}")
        self.url = m.group(0)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def scratch_repo(work: Path, tenant: str, docs: list) -> None:
    """Lays out a user's repository: licenses/, tenants/*, the runner's folders, artifacts."""
    shutil.copytree(ROOT / "examples" / tenant, work / "licenses")
    for name in TENANTS:
        shutil.copytree(ROOT / "examples" / name, work / "tenants" / name)
    snapshot = ROOT / "examples/tenants" / f"{tenant}.snapshot.json"
    (work / "runner-temp/snapshot").mkdir(parents=True)
    shutil.copy(snapshot, work / "runner-temp/snapshot/tenant.snapshot.json")  # nightly artifact
    shutil.copy(snapshot, work / "tenant.snapshot.json")  # GitLab's artifact download
    (work / "pipeline").mkdir()
    (work / "pipeline/devlic-drift-plan").symlink_to(work)  # Azure DevOps `download: current`
    (work / "tmp").mkdir()
    (work / "spec").mkdir()
    for doc in docs:  # a ConfigMap holding the spec, mounted at /spec
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
            for name, text in doc.get("data", {}).items():
                (work / "spec" / name).write_text(text)


def run_file(path: Path, docs: list, devlic: Path, sim_bin: Path) -> list[str]:
    found: list = []
    env: dict = {}
    matrix: list = []
    for doc in docs:
        walk(doc, found, env, matrix)
    rel = path.relative_to(ROOT)
    results = []
    for entry in matrix or [{}]:
        tenant = entry.get("tenant", "contoso")
        if tenant not in TENANTS:
            raise CheckError(f"{rel}: matrix tenant {tenant!r} has no simulator fixture")
        with tempfile.TemporaryDirectory(prefix="devlic-ci-") as tmp:
            work = Path(tmp)
            scratch_repo(work, tenant, docs)
            fixture = json.loads((ROOT / TENANTS[tenant][0]).read_text())
            # Enough units that apply succeeds: this check is about commands and flags; the
            # capacity shortage of the Contoso story has its own end-to-end test.
            for sku in fixture["subscribedSkus"]:
                sku["prepaidUnits"]["enabled"] += 1000
            (work / "tenant.json").write_text(json.dumps(fixture))
            sim = Sim(sim_bin, work / "tenant.json")
            try:
                results += run_commands(rel, found, env, entry, work, devlic, sim.url, tenant)
            finally:
                sim.stop()
    return results


def run_commands(rel, found, env, entry, work, devlic, url, tenant) -> list[str]:
    values = dict(env)
    values.update(
        RUNNER_TEMP=str(work / "runner-temp"),
        GITHUB_STEP_SUMMARY=str(work / "step-summary.md"),
        AGENT_TEMPDIRECTORY=str(work / "tmp"),
        PIPELINE_WORKSPACE=str(work / "pipeline"),
        GITHUB_RUN_ID="1",
        GITHUB_RUN_ATTEMPT="1",
    )
    proc_env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "DEVLIC_", "ACTIONS_ID_TOKEN"))}
    proc_env.update(
        AZURE_TENANT_ID=TENANTS[tenant][1],
        AZURE_CLIENT_ID="devlic-sim",
        AZURE_CLIENT_SECRET="devlic-sim-secret",
        NO_COLOR="1",
    )
    lines, applied = [], False
    for kind, raw in found:
        words = raw.split()
        if len(words) >= 2 and words[1].lstrip('"').startswith("$"):
            lines.append(f"  skip (generic) {raw}")
            continue
        argv = shlex.split(expand(raw, values, entry))
        if kind == "container":
            # The container's absolute paths map into the scratch repository.
            argv = [str(work / a[1:]) if a.startswith(("/spec", "/tmp/")) else a for a in argv]
        sub = argv[1]
        if sub in READS_TENANT and "--snapshot" not in argv:
            argv += ["--graph-url", url, "--authority-url", url]
        if sub == "apply":
            argv += ["--poll-interval", "0.2"]  # the simulator processes instantly
            applied = True
        out = subprocess.run([str(devlic)] + argv[1:], cwd=work, env=proc_env, capture_output=True, text=True, timeout=120)
        ok_codes = {0, 2} if sub == "plan" and "--detailed-exitcode" in argv else {0}
        usage_error = "Usage: devlic" in out.stderr
        if out.returncode not in ok_codes or usage_error:
            raise CheckError(
                f"{rel}: `{raw}` exited {out.returncode}\n  ran: {shlex.join(argv)}\n  stderr:\n{out.stderr}"
            )
        if sub == "plan" and "--out" in argv:
            saved = work / argv[argv.index("--out") + 1]  # absolute paths stay absolute
            json.loads(saved.read_text())  # the plan file exists and is JSON
        tag = f"[{entry['tenant']}] " if entry else ""
        lines.append(f"  ok {out.returncode} {tag}({kind}) {raw}")
    if applied:
        # After the file's applies, the tenant must match the spec it applied.
        spec = "spec" if any("/spec" in raw for _, raw in found) else expand("$DEVLIC_SPEC", values, entry)
        argv = ["plan", spec, "--detailed-exitcode", "--graph-url", url, "--authority-url", url]
        out = subprocess.run([str(devlic)] + argv, cwd=work, env=proc_env, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise CheckError(f"{rel}: the re-plan after apply exited {out.returncode}:\n{out.stdout}{out.stderr}")
        lines.append("  ok 0 re-plan after apply: no changes")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the devlic commands of the CI examples against devlic-sim.")
    parser.add_argument("--bin-dir", type=Path, help="folder holding built devlic and devlic-sim (default: build them)")
    opts = parser.parse_args()
    if opts.bin_dir:
        devlic, sim = opts.bin_dir.resolve() / "devlic", opts.bin_dir.resolve() / "devlic-sim"
        for binary in (devlic, sim):
            if not binary.is_file():
                sys.exit(f"error: {binary} does not exist\nhelp: cargo build -p devlic-cli -p devlic-graph-sim")
    else:
        devlic, sim = build()
    failures = 0
    total = 0
    for path in ci_files():
        rel = path.relative_to(ROOT)
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
            lines = run_file(path, docs, devlic, sim)
        except (yaml.YAMLError, CheckError, subprocess.TimeoutExpired) as e:
            failures += 1
            print(f"FAIL {rel}\n{e}")
            continue
        total += sum(1 for line in lines if line.startswith("  ok"))
        print(f"ok   {rel}")
        print("\n".join(lines))
    print(f"\n{total} devlic command(s) run, {failures} file(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
