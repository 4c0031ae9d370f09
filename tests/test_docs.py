"""The manual holds together: links and anchors resolve, every `movierec` command it shows
parses with today's flags, help texts point to pages that exist, the README stays short."""

import argparse
import pathlib
import re
import shlex

import pytest

ROOT = pathlib.Path(__file__).parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "bench" / "RESULTS.md", *ROOT.glob("docs/*.md")])
README_MAX_LINES = 400
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: pathlib.Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.*)$", text, re.M)}


def _links(page: pathlib.Path):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for match in LINK.finditer(text):
        target = match.group(1)
        if not re.match(r"[a-z]+:", target):
            yield target


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_and_anchor_resolves(page):
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
            continue
        if anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(target)
    assert not broken, f"{page.name}: {broken}"


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= README_MAX_LINES


def _shown_commands():
    """Every `movierec ...` line of a sh block in the manual, continuations joined,
    comments and a trailing & dropped."""
    for page in PAGES:
        if not page.exists():
            continue
        for block in re.findall(r"```(?:sh|bash)\n(.*?)```", page.read_text(), flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if words and words[-1] == "&":
                    words = words[:-1]
                if words and words[0] == "movierec":
                    yield page.relative_to(ROOT), words[1:]


def _parser_of(command: str) -> argparse.ArgumentParser:
    if command in ("trainer", "serving"):
        module = __import__(f"{command}_service.__main__", fromlist=["add_arguments"])
        parser = argparse.ArgumentParser(prog=f"movierec {command}", exit_on_error=False)
        module.add_arguments(parser)
        return parser
    try:
        from movierec_client import commands  # the SDK as its own distribution
    except ImportError:
        from movierec_client import commands
    return commands.build_parser()


@pytest.mark.parametrize(
    ("page", "argv"),
    list(_shown_commands()),
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_every_command_shown_parses(page, argv, capsys):
    parser = _parser_of(argv[0])
    try:
        parser.parse_args(argv[1:] if argv[0] in ("trainer", "serving") else argv)
    except (SystemExit, argparse.ArgumentError) as error:
        pytest.fail(f"{page}: movierec {' '.join(argv)}: {error} {capsys.readouterr().err}")


@pytest.mark.parametrize("service", ["trainer", "serving"])
def test_service_help_points_to_pages_that_exist(service):
    text = _parser_of(service).format_help()
    assert "README" not in text
    for page in re.findall(r"docs/[\w-]+\.md", text):
        assert (ROOT / page).is_file(), page


def test_the_code_points_to_pages_and_sections_that_exist():
    results = _anchors(ROOT / "bench" / "RESULTS.md")
    missing = []
    for package in ("movierec", "trainer_service", "serving_service", "service_common"):
        for source in (ROOT / package).rglob("*.py"):
            text = " ".join(source.read_text().replace("#", " ").split())
            name = source.relative_to(ROOT)
            missing += [
                f"{name}: {p}"
                for p in re.findall(r"docs/[\w-]+\.md", text)
                if not (ROOT / p).is_file()
            ]
            for section in re.findall(r'bench/RESULTS\.md, "([^"]+)"', text):
                if not any(anchor.startswith(_slug(section)) for anchor in results):
                    missing.append(f"{name}: bench/RESULTS.md section {section!r}")
            if "README" in text:
                missing.append(f"{name}: names the README")
    assert not missing
