"""tools/prepare_cache.py: a notebook's cache key follows the lib modules it really uses."""
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("prepare_cache", ROOT / "tools" / "prepare_cache.py")
prepare_cache = importlib.util.module_from_spec(spec)
sys.modules["prepare_cache"] = prepare_cache
spec.loader.exec_module(prepare_cache)

KNOWN = {"figures", "style", "claims", "margin", "shuffle"}


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import lib.margin", {"margin"}),
        ("import lib.margin as m\nfrom lib.claims import Claims", {"margin", "claims"}),
        ("from lib import style, figures", {"style", "figures"}),
        ("from lib import (style,\n    claims)", {"style", "claims"}),
        ("from lib.shuffle.engine import shuffle_file", {"shuffle"}),
        ("import lib", KNOWN),
        ("import numpy as np\nx = 'lib.margin'", set()),
        ("from library import x", set()),
    ],
)
def test_imported_modules(source, expected):
    assert prepare_cache.imported_modules(source, KNOWN) == expected


def make_tree(tmp_path):
    lib = tmp_path / "lib"
    (lib / "shuffle").mkdir(parents=True)
    (lib / "__init__.py").write_text('"""pkg"""\n')
    (lib / "style.py").write_text("X = 1\n")
    (lib / "figures.py").write_text("from lib import style\n")
    (lib / "margin.py").write_text("from . import claims\n")
    (lib / "claims.py").write_text("Y = 2\n")
    (lib / "shuffle" / "__init__.py").write_text("from .engine import shuffle_file\n")
    (lib / "shuffle" / "engine.py").write_text("def shuffle_file(): pass\n")
    (tmp_path / "requirements.txt").write_text("numpy==2\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from lib import figures\nimport lib.margin")])
    path = tmp_path / "ch.ipynb"
    nbformat.write(nb, path)
    return path


def test_dependencies_are_followed_transitively(tmp_path):
    path = make_tree(tmp_path)
    mods = prepare_cache.module_files(tmp_path)
    assert set(mods) == {"style", "figures", "margin", "claims", "shuffle"}
    _, used = prepare_cache.dependency_hash(path, tmp_path, mods)
    assert used == ["claims", "figures", "margin", "style"]


def test_hash_changes_with_a_used_module_and_not_with_an_unused_one(tmp_path):
    path = make_tree(tmp_path)
    mods = prepare_cache.module_files(tmp_path)
    h0, _ = prepare_cache.dependency_hash(path, tmp_path, mods)
    (tmp_path / "lib" / "shuffle" / "engine.py").write_text("def shuffle_file(): return 1\n")
    assert prepare_cache.dependency_hash(path, tmp_path, mods)[0] == h0
    (tmp_path / "lib" / "claims.py").write_text("Y = 3\n")  # used through margin -> claims
    h1, _ = prepare_cache.dependency_hash(path, tmp_path, mods)
    assert h1 != h0
    (tmp_path / "requirements.txt").write_text("numpy==3\n")
    assert prepare_cache.dependency_hash(path, tmp_path, mods)[0] != h1


def test_a_changed_lib_module_re_executes_only_its_notebooks_and_marks_them_for_sphinx(tmp_path, monkeypatch):
    """End to end with real kernels: execute, reuse, then re-execute after a lib change."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "__init__.py").write_text("")
    (lib / "answer.py").write_text("VALUE = 41\n")
    (lib / "other.py").write_text("X = 0\n")
    (tmp_path / "requirements.txt").write_text("")
    book = tmp_path / "book"
    book.mkdir()
    uses = book / "uses.ipynb"
    plain = book / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from lib.answer import VALUE\nVALUE + 1")], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), uses)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")],
                   metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), plain)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))

    from jupyter_cache import get_cache

    def cached_output(nb_path):
        cache = get_cache(str(tmp_path / "_build" / ".jupyter_cache"))
        _, merged = cache.merge_match_into_notebook(nbformat.read(nb_path, as_version=4))
        return merged.cells[0].outputs[0]["data"]["text/plain"]

    assert prepare_cache.main(["--root", str(tmp_path), "--jobs", "2"]) == 0
    assert cached_output(uses) == "42"
    stamp = {p: p.stat().st_mtime_ns for p in (uses, plain)}
    assert prepare_cache.main(["--root", str(tmp_path)]) == 0  # nothing stale: nothing executed
    assert {p: p.stat().st_mtime_ns for p in (uses, plain)} == stamp

    (lib / "answer.py").write_text("VALUE = 99\n")
    assert prepare_cache.main(["--root", str(tmp_path)]) == 0
    assert cached_output(uses) == "100", "the cache must not keep outputs computed with the old lib"
    assert uses.stat().st_mtime_ns > stamp[uses], "Sphinx must see the re-executed notebook as changed"
    assert plain.stat().st_mtime_ns == stamp[plain], "a notebook that does not use the module is left alone"


def test_a_failing_notebook_stops_the_build_with_its_traceback(tmp_path, capsys):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "__init__.py").write_text("")
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "book").mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('claim broke')")],
                   metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
                   tmp_path / "book" / "bad.ipynb")
    assert prepare_cache.main(["--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "bad.ipynb failed" in err and "claim broke" in err
