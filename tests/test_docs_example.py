"""The README's own-data example runs as written on the small file it describes."""

import pathlib
import re
import shlex

from movierec_client.commands import run

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
PLAYS = "user\tartist\tplays\r\n1\t10\t3\r\n1\t11\t1\r\n2\t10\t5\r\n1\t10\t2\r\n"


def example_commands() -> list[list[str]]:
    """The `movierec dataset` commands of the README's own-data example."""
    text = README.read_text()
    block = text.split("<!-- own-data example", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = re.sub(r"\\\n\s*", " ", block).splitlines()
    return [
        shlex.split(line, comments=True)[1:]
        for line in lines
        if line.startswith("movierec dataset")
    ]


def test_the_readme_imports_the_file_it_describes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plays.tsv").write_bytes(PLAYS.encode())
    commands = example_commands()
    assert [command[:2] for command in commands] == [["dataset", "import"], ["dataset", "show"]]
    for command in commands:
        assert run([*command, "--data-dir", str(tmp_path / "data")]) == 0
    shown = capsys.readouterr().out
    # 1 -> 10 given twice: 3 + 2 plays, one interaction
    assert "3 interactions (implicit, weighted by column 'plays') of 2 users and 2 items" in shown
    assert "1 duplicate (user, item) rows merged (weights summed)" in shown
