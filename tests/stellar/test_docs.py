import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "stellar.md"


def test_docs_example_runs_and_makes_its_figures(tmp_path, monkeypatch):
    text = DOC.read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(code) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(code[0], str(DOC), "exec"), {"__name__": "__docs__"})
    for image in re.findall(r"!\[[^]]*\]\(\.\./([^)]+)\)", text):
        assert (tmp_path / image).exists(), image
