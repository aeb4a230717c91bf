"""The book's sources: notebooks committed clean, every page in the table of contents,
chapters credit their article and use the shared helpers, the README's two commands exist."""
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if re.match(r"\d\d-", p.name)]


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 1  # guards the parametrised tests below against collecting nothing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell["outputs"], f"{path.name}: a code cell has outputs; clear them before committing"
            assert cell["execution_count"] is None, f"{path.name}: a code cell has an execution count"


def test_every_page_is_in_the_toc_and_every_toc_entry_exists():
    listed = toc_files()
    for f in listed:
        assert (ROOT / f).with_suffix(".ipynb").exists() or (ROOT / f).with_suffix(".md").exists(), f
    for p in NOTEBOOKS + sorted((ROOT / "book").glob("*.md")):
        assert str(p.relative_to(ROOT).with_suffix("")) in listed, f"{p.name} is not listed in _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_credits_its_article_and_uses_the_shared_helpers(path):
    nb = json.loads(path.read_text())
    first_md = "".join(next(c for c in nb["cells"] if c["cell_type"] == "markdown")["source"])
    assert "kexue.fm/archives/" in first_md, f"{path.name}: credit the original article (link) at the top"
    assert "Su Jianlin" in first_md
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "drivable_figure" in code, f"{path.name}: use lib.figures.drivable_figure for driven figures"
    assert "Claims(" in code and "claims.table()" in code, f"{path.name}: check claims with lib.claims"


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
