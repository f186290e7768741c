"""The README as a front door: short, the Quick start near the top, every command in its
```bash blocks either run here or excluded with a reason, the output it shows found in the
real output, and every relative link in README.md, docs/ and REPRODUCTION.md pointing at a file
that exists.

Each `varprop ...` line runs as a subprocess in a temporary folder (holding a copy of
derivations/, so `derive --check` compares the committed files), with $VARPROP_STORE in that
folder. Absolute paths given to --out, --store or --data-dir are redirected into the temporary
folder, and mapped back in the output before it is compared. A ```text block right after a
```bash block of one command is that command's output: each of its lines, split at "…", must
appear (the pieces in order) on one line of stdout or stderr; lines of "…" alone are skipped.
A trailing `# exit status N` comment gives the expected status; it is 0 otherwise.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))

# Commands of the README that this test does not run, each with the reason.
EXCLUDED = {
    "bash scripts/main.sh": "the main job: rewrites derivations/ and paper_figures/ of the "
                            "checkout (39 s from the committed results, about an hour without)",
    "bash scripts/test.sh": "the whole test suite, this test included; CI runs it (.ci/run)",
}
PATH_FLAGS = ("--out", "--store", "--data-dir")
MAX_LINES = 200
QUICK_START_BY = 40


def _blocks(text):
    """(language, body) of every fenced block, in order, and for each whether a ```text block
    follows it directly (only blank lines between)."""
    fence = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*\n", re.M | re.S)
    found = [(m.group(1), m.group(2), m.start(), m.end()) for m in fence.finditer(text)]
    blocks = []
    for i, (lang, body, _, end) in enumerate(found):
        nxt = found[i + 1] if i + 1 < len(found) else None
        output = None
        if nxt and nxt[0] == "text" and text[end:nxt[2]].strip() == "":
            output = nxt[1]
        blocks.append((lang, body, output))
    return blocks


def _commands(body):
    """Logical command lines of a bash block: continuations joined, comment lines dropped."""
    lines, current = [], ""
    for raw in body.splitlines():
        line = raw.rstrip()
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        lines.append((current + line).strip())
        current = ""
    if current:
        lines.append(current.strip())
    return lines


def _split_comment(line):
    """The command's words without a trailing comment, and the expected exit status."""
    words = shlex.split(line)
    comment = ""
    if "#" in words:
        cut = words.index("#")
        words, comment = words[:cut], " ".join(words[cut + 1:])
    m = re.fullmatch(r"exit status (\d+)", comment.strip())
    return words, int(m.group(1)) if m else 0


def readme_commands():
    """Every command line in README's ```bash blocks: (line, output shown or None)."""
    found = []
    for lang, body, output in _blocks(README.read_text(encoding="utf-8")):
        if lang != "bash":
            continue
        lines = _commands(body)
        if output is not None:
            assert len(lines) == 1, f"a bash block followed by output must hold one command: {lines}"
        found += [(line, output) for line in lines]
    return found


RUN = [(line, out) for line, out in readme_commands() if line.startswith("varprop ")]


def test_every_readme_command_is_run_or_excluded_with_a_reason():
    commands = [line for line, _ in readme_commands()]
    assert commands, "no ```bash block in README.md"
    for line in commands:
        assert line.startswith("varprop ") or line.split("#")[0].strip() in EXCLUDED, (
            f"README command neither run by tests/test_readme.py nor excluded with a reason: {line}")
    listed = {line.split("#")[0].strip() for line in commands}
    for excluded in EXCLUDED:
        assert excluded in listed, f"excluded command no longer in README.md: {excluded}"
    assert RUN, "no varprop command in README.md"


def test_readme_is_short_with_the_quick_start_first():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines (at most {MAX_LINES})"
    assert "## Quick start" in lines[:QUICK_START_BY], "## Quick start not in the first 40 lines"
    start = lines.index("## Quick start")
    quick = "\n".join(lines[start:start + QUICK_START_BY]) + "\n"
    bash = [_commands(body) for lang, body, _ in _blocks(quick) if lang == "bash"]
    assert [c.split("#")[0].strip() for c in bash[0]] == list(EXCLUDED)


@pytest.mark.parametrize("path", [README, ROOT / "REPRODUCTION.md", *DOCS],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files(path):
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)   # not inside code blocks
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    for target in targets:
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file = (path.parent / target.split("#")[0]).resolve()
        assert file.exists(), f"{path.name}: link to a missing file: {target}"


def _test_argv(words, tmp):
    """README argv → argv writing only into tmp; returns it and {tmp path: README path}."""
    argv, back = [], {}
    for i, word in enumerate(words):
        flag, prefix = (words[i - 1] if i else ""), ""
        if "=" in word and word.split("=", 1)[0] in PATH_FLAGS:
            flag, word = word.split("=", 1)
            prefix = flag + "="
        if flag in PATH_FLAGS and os.path.isabs(word):
            new = str(tmp / "abs" / word.strip("/").replace("/", "_"))
            back[new] = word
            word = new
        argv.append(prefix + word)
    return argv, back


def _shown_lines_found(shown, output):
    lines = output.splitlines()
    missing = []
    for want in shown.splitlines():
        pieces = [p.strip() for p in want.split("…") if p.strip()]
        if not pieces:
            continue
        ok = False
        for line in lines:
            at = 0
            for piece in pieces:
                at = line.find(piece, at)
                if at < 0:
                    break
                at += len(piece)
            else:
                ok = True
                break
        if not ok:
            missing.append(want)
    return missing


@pytest.mark.parametrize("line,shown", RUN, ids=[line for line, _ in RUN])
def test_readme_command_runs_as_shown(line, shown, tmp_path):
    words, status = _split_comment(line)
    assert words[0] == "varprop"
    work = tmp_path / "cwd"
    work.mkdir()
    shutil.copytree(ROOT / "derivations", work / "derivations")
    argv, back = _test_argv(words[1:], tmp_path)
    env = dict(os.environ, VARPROP_STORE=str(tmp_path / "store"))
    proc = subprocess.run([sys.executable, "-m", "varprop", *argv], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    output = proc.stdout + "\n" + proc.stderr.replace("\r", "\n")
    for new, old in back.items():
        output = output.replace(new, old)
    assert proc.returncode == status, (
        f"{line}: exit status {proc.returncode}, README says {status}\n{output[-3000:]}")
    assert "Traceback" not in proc.stderr
    if shown is not None:
        missing = _shown_lines_found(shown, output)
        assert not missing, f"{line}: lines the README shows are not in the output:\n" + \
            "\n".join(missing) + f"\n--- output:\n{output[-3000:]}"
