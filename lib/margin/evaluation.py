"""Classification and retrieval of held-out samples, margin sweeps and their table (chapter 1).

Chapter 1, section "Experiment: softmax against AM-Softmax", after Su Jianlin,
kexue.fm/archives/8656: classification is nearest centre by cosine, retrieval is leave-one-out
nearest neighbour by cosine; a sweep trains one model per (margin, seed);
:func:`adaptive_margin_schedule` is the article's suggestion of setting m to the average class
diameter.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lib.tables import Table

from .ceilings import centre_ceiling
from .data import Split, _positive_int
from .sphere import cosine_matrix, sqrt_cosine_distance
from .training import TrainedModel, train_margin_classifier


def nearest_center_accuracy(emb, labels, centres) -> float:
    """Fraction of samples whose highest-cosine centre is their own class (classification)."""
    return float(np.mean(cosine_matrix(emb, centres).argmax(1) == np.asarray(labels)))


def _neighbour_order(emb, labels, k: int) -> np.ndarray:
    labels = np.asarray(labels)
    n = len(labels)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        raise ValueError(f"k={k!r} must be an integer in [1, {n})")
    _, counts = np.unique(labels, return_counts=True)
    if counts.min() < 2:
        raise ValueError("every class needs at least two samples, or some query has no correct answer")
    sim = cosine_matrix(emb, emb)  # (N, N)
    np.fill_diagonal(sim, -np.inf)  # leave the query out
    if k == 1:
        return sim.argmax(1)[:, None]  # (N, 1)
    top = np.argpartition(-sim, k - 1, axis=1)[:, :k]  # (N, k), unordered
    return top


def retrieval_topk_accuracy(emb, labels, k: int = 1) -> float:
    """Leave-one-out retrieval: fraction of queries with a same-class sample among their k nearest (cosine)."""
    labels = np.asarray(labels)
    top = _neighbour_order(emb, labels, k)
    return float(np.mean((labels[top] == labels[:, None]).any(1)))


def misranked_fraction(emb, labels, centres) -> float:
    """Fraction of samples classified correctly whose nearest other sample has another class."""
    labels = np.asarray(labels)
    ok = cosine_matrix(emb, centres).argmax(1) == labels
    nn1 = _neighbour_order(emb, labels, 1)[:, 0]
    return float(np.mean(ok & (labels[nn1] != labels)))


def class_radius(emb, labels, centres) -> tuple[float, np.ndarray]:
    """Mean ``sqrt(1 - cos)`` distance of samples to their own centre: overall and per class (K,)."""
    labels = np.asarray(labels)
    d = sqrt_cosine_distance(np.asarray(emb), np.asarray(centres)[labels])  # (N,)
    per = np.array([d[labels == c].mean() if np.any(labels == c) else np.nan for c in range(len(centres))])
    return float(d.mean()), per


def estimate_margin_from_diameter(emb, labels, centres) -> float:
    """The article's "average class diameter": twice the mean radius, as a margin for ``sqrt(1 - cos)``."""
    return 2.0 * class_radius(emb, labels, centres)[0]


def evaluate(model: TrainedModel, split: Split) -> dict:
    """Classification on train and held-out samples, top-1 retrieval on held-out samples and (if
    any) held-out classes, the misranked share, the class radius, the centres' ceiling, the last loss."""
    c = model.centres()
    e_tr, e_te = model.embed(split.x_train), model.embed(split.x_test)
    pred = cosine_matrix(e_te, c).argmax(1)  # (N_test,)
    nn1 = _neighbour_order(e_te, split.y_test, 1)[:, 0]  # (N_test,)
    hit = split.y_test[nn1] == split.y_test
    out = {
        "train_cls": nearest_center_accuracy(e_tr, split.y_train, c),
        "test_cls": float(np.mean(pred == split.y_test)),
        "test_retr": float(np.mean(hit)),
        "test_misranked": float(np.mean((pred == split.y_test) & ~hit)),
        "radius": class_radius(e_tr, split.y_train, c)[0],
        "centre_ceiling": centre_ceiling(c),
        "final_loss": float(model.losses[-1]),
    }
    out["new_retr"] = retrieval_topk_accuracy(model.embed(split.x_new), split.y_new) if len(split.y_new) else np.nan
    return out


def margin_sweep(split: Split, margins: Sequence[float], seeds: Sequence[int], *, keep_embeddings: bool = False,
                 **train_kw) -> list[dict]:
    """Train one model per (margin, seed) and evaluate it: one record (dict) per run.

    With ``keep_embeddings`` a record also holds the held-out embeddings and the centres.
    """
    if len(margins) == 0 or len(seeds) == 0:
        raise ValueError("margins and seeds must be non-empty")
    records = []
    for m in margins:
        for seed in seeds:
            model = train_margin_classifier(split.x_train, split.y_train, margin=m, seed=seed, **train_kw)
            rec = {"margin": float(m), "seed": int(seed), **evaluate(model, split)}
            if keep_embeddings:
                rec["test_emb"], rec["centres"] = model.embed(split.x_test), model.centres()
            records.append(rec)
    return records


def summarize(records: list[dict], key: str) -> dict[str, np.ndarray]:
    """Per margin: mean, min and max of ``key`` over seeds (arrays in increasing margin)."""
    if not records or key not in records[0]:
        raise ValueError(f"key={key!r} is not a field of the records")
    margins = np.array(sorted({r["margin"] for r in records}))
    vals = [np.array([r[key] for r in records if r["margin"] == m], float) for m in margins]
    return {"margin": margins, "mean": np.array([v.mean() for v in vals]),
            "min": np.array([v.min() for v in vals]), "max": np.array([v.max() for v in vals])}


def adaptive_margin_schedule(split: Split, rounds: int = 1, seeds: Sequence[int] = (0,), **train_kw) -> list[dict]:
    """The article's suggestion, with its metric ``sqrt(1 - cos)``: train at m = 0, set m to the
    average class diameter of the training embeddings, continue training, re-estimate, repeat.

    Returns one record per (seed, round); round 0 is m = 0; ``diameter`` is the estimate made
    after that round (the next round's margin). Each round runs ``steps`` more steps.
    """
    rounds = _positive_int(rounds, "rounds")
    out = []
    for seed in seeds:
        model, m = None, 0.0
        for r in range(rounds + 1):
            model = train_margin_classifier(split.x_train, split.y_train, margin=m, kind="sqrt", seed=seed,
                                            init=model, **train_kw)
            m_next = estimate_margin_from_diameter(model.embed(split.x_train), split.y_train, model.centres())
            out.append({"seed": int(seed), "round": r, "margin": m, "diameter": m_next, **evaluate(model, split)})
            m = m_next
    return out


def sweep_table(records: list[dict], keys: Sequence[str], labels: Sequence[str], caption: str | None = None) -> Table:
    """One row per margin: the mean over seeds of each key, with its min–max range below it."""
    if len(keys) != len(labels):
        raise ValueError("keys and labels must have the same length")
    stats = [summarize(records, k) for k in keys]
    rows = [[m] + [(s["mean"][i], f"{s['min'][i]:.3f}–{s['max'][i]:.3f}") for s in stats]
            for i, m in enumerate(stats[0]["margin"])]
    return Table(["m", *labels], rows, caption, formats={j: "{:.3f}" if j else "{:.2f}" for j in range(len(keys) + 1)})
