"""lib.shuffle.figures (chapter 8): the grid steps are the article's method, and every figure draws."""
import numpy as np
import pytest
from matplotlib.figure import Figure

from lib.shuffle import analysis as A
from lib.shuffle import figures as F


@pytest.mark.parametrize("m, n", [(2, 2), (4, 5), (6, 3), (1, 4)])
def test_chunk_grid_steps_shuffle_columns_then_rows(m, n):
    s = F.chunk_grid_steps(m, n, seed=m * 10 + n)
    assert s["original"].shape == (n, m) and s["original"][:, 1 % m].tolist() == list(range((1 % m) * n, (1 % m + 1) * n))
    for j in range(m):  # step 2 keeps every line in its chunk's column
        assert sorted(s["columns"][:, j]) == sorted(s["original"][:, j])
    for r in range(n):  # step 3 keeps every line in its row
        assert sorted(s["rows"][r]) == sorted(s["columns"][r])
    assert s["article"].tolist() == s["rows"].reshape(-1).tolist()
    chunk = s["article"] // n
    for r in range(n):  # one line of each chunk per block of m
        assert sorted(chunk[r * m:(r + 1) * m]) == list(range(m))
    prop = s["proportional"]
    assert sorted(prop) == list(range(m * n))
    for j in range(m):  # the merge takes each chunk's lines in their shuffled order
        assert [x for x in prop if x // n == j] == s["columns"][:, j].tolist()


def test_chunk_grid_refuses_sizes_it_cannot_draw():
    with pytest.raises(ValueError, match="m="):
        F.chunk_grid_steps(9, 2)
    with pytest.raises(ValueError, match="n="):
        F.chunk_grid_steps(2, 0)


def test_every_figure_draws():
    exact = {"article": A.law_vector(A.article_law([2, 2]), 4), "proportional": A.law_vector(A.proportional_law([2, 2]), 4)}
    ranks = {k: A.order_ranks(A.sample_orders(k, 4, 240, 0, lines_per_chunk=2)) for k in exact}
    orders = {("article", (2, 3)): A.sample_orders("article", 6, 50, 0, lines_per_chunk=3)}
    rows = [{"tool": "engine", "budget_bytes": 2**20, "wall_s": 1.0, "cpu_s": 0.5, "rss_above_baseline_bytes": 2**21},
            {"tool": "shuf", "budget_bytes": 0, "wall_s": 0.5, "cpu_s": 0.2, "rss_above_baseline_bytes": 2**23}]
    figs = [F.draw_chunk_grid(3, 4), F.draw_order_probabilities(["article", "proportional"], 240, exact=exact, ranks=ranks),
            F.draw_position_and_pairs("article", (2, 3), orders=orders), F.draw_last_chunk(1050, 100),
            F.draw_plan(280, 20), F.draw_plan(5000, 1), F.draw_reported_throughput(), F.draw_benchmark(rows, 2**20)]
    assert all(isinstance(f, Figure) for f in figs)
    assert len(figs[1].axes) == 2 and len(figs[4].axes) == 3
    titles = " ".join(ax.get_title(loc="left") for ax in figs[1].axes)
    assert "article's method" in titles and "proportional merge" in titles


def test_order_probabilities_needs_a_factorial_number_of_orders():
    with pytest.raises(ValueError, match="k!"):
        F.draw_order_probabilities("article", 10, exact={"article": np.ones(5) / 5}, ranks={"article": np.zeros(10, int)})
