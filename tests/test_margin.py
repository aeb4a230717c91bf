"""lib.margin (chapter 1) against closed forms, brute force, torch and scikit-learn.

Each numbered test checks one of the digest's "checkable claims" (01-margin-softmax.md);
the rest check the helpers the chapter builds on and that bad arguments are refused.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine

from lib import margin as M

# ----------------------------------------------------------------------------------- claim 1


@pytest.mark.parametrize("dim", [3, 128])
def test_claim1_chord_equals_sqrt_2_minus_2cos(dim):
    rng = np.random.default_rng(dim)
    x, y = rng.normal(size=(10_000, dim)) * 3, rng.normal(size=(10_000, dim))
    cos = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    np.testing.assert_allclose(M.chord_distance(x, y), np.sqrt(2 - 2 * cos), rtol=0, atol=1e-12)


def test_claim1_chord_identity_in_2d_compares_squares():
    # In 2-D near-parallel pairs amplify rounding in sqrt(2 - 2 cos) (digest, corrections): compare squares.
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(10_000, 2)), rng.normal(size=(10_000, 2))
    cos = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    np.testing.assert_allclose(M.chord_distance(x, y) ** 2, 2 - 2 * cos, rtol=0, atol=1e-12)
    # sqrt(1 - cos) from the dot product agrees with the library's (chord-based) value to ~sqrt(eps)
    np.testing.assert_allclose(M.sqrt_cosine_distance(x, y), np.sqrt(np.maximum(0, 1 - cos)), rtol=0, atol=3e-8)


# ----------------------------------------------------------------------------------- claim 2


def test_claim2_three_vectors_at_0_45_90_degrees():
    x, z, y = M.unit_vectors([0.0, 45.0, 90.0])
    assert M.cosine_distance(x, y) == pytest.approx(1.0, abs=1e-15)
    assert M.cosine_distance(x, z) + M.cosine_distance(z, y) == pytest.approx(2 - math.sqrt(2), abs=1e-12)  # 0.585786
    assert 2 - math.sqrt(2) == pytest.approx(0.585786, abs=1e-6)
    assert M.sqrt_cosine_distance(x, y) == pytest.approx(1.0, abs=1e-15)
    detour = M.sqrt_cosine_distance(x, z) + M.sqrt_cosine_distance(z, y)
    assert detour == pytest.approx(2 * math.sqrt(1 - math.sqrt(2) / 2), abs=1e-12)
    assert detour == pytest.approx(1.082392, abs=1e-6)


def _exact_violation_probability_2d(n: int = 2000) -> float:
    """P[1 - cos a > (1 - cos b) + (1 - cos(a - b))] for independent uniform angles a, b: midpoint rule."""
    t = (np.arange(n) + 0.5) * 2 * np.pi / n
    a, b = t[:, None], t[None, :]
    return float(np.mean(1 - np.cos(a) > 2 - np.cos(b) - np.cos(a - b)))


def test_claim2_random_triples_violation_fractions():
    rng = np.random.default_rng(0)
    fractions = {}
    for dim in (2, 3, 16):
        x, y, z = (M.random_unit_vectors(100_000, dim, rng) for _ in range(3))
        fractions[dim] = M.triangle_violations(M.cosine_distance, x, y, z)["fraction"]
        for metric in (M.sqrt_cosine_distance, M.chord_distance):
            v = M.triangle_violations(metric, x, y, z)
            assert v["fraction"] == 0.0 and v["max_excess"] <= 1e-12
    # 2-D: against an exact integral; 5 binomial standard errors (significance ~6e-7).
    p = _exact_violation_probability_2d()
    assert abs(fractions[2] - p) < 5 * math.sqrt(p * (1 - p) / 100_000)
    assert fractions[2] == pytest.approx(0.249, abs=0.01)  # digest's run
    assert fractions[3] == pytest.approx(0.166, abs=0.01)
    assert fractions[16] == pytest.approx(0.003, abs=0.003)


def test_triangle_violations_matches_a_direct_count():
    rng = np.random.default_rng(5)
    x, y, z = (M.random_unit_vectors(500, 2, rng) for _ in range(3))
    d = lambda a, b: 1 - (a * b).sum(1)  # noqa: E731  (unit vectors)
    excess = d(x, y) - d(x, z) - d(z, y)
    v = M.triangle_violations(M.cosine_distance, x, y, z)
    assert v["fraction"] == pytest.approx(np.mean(excess > 1e-12))
    assert v["max_excess"] == pytest.approx(excess.max(), abs=1e-12)
    assert v["worst"] == int(excess.argmax())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=9, max_size=9).filter(
    lambda v: all(np.linalg.norm(v[i:i + 3]) > 1e-3 for i in (0, 3, 6))))
def test_sqrt_cosine_distance_obeys_the_triangle_inequality_on_any_triple(v):
    x, y, z = np.array(v[:3]), np.array(v[3:6]), np.array(v[6:])
    for d in (M.sqrt_cosine_distance, M.chord_distance):
        assert d(x, y) <= d(x, z) + d(z, y) + 1e-12


# ----------------------------------------------------------------------------------- claim 3


def test_claim3_midpoint_ratio_closed_forms():
    # 1e-12 holds away from 0; for tiny theta, 1 - cos cancels (relative error ~ 1e-16 / theta^2).
    th = np.linspace(0.05, np.pi, 1000)
    np.testing.assert_allclose(M.midpoint_ratio(th, M.cosine_distance), 1 + np.cos(th / 2), rtol=0, atol=1e-12)
    tiny = np.linspace(1e-3, 0.05, 50)
    np.testing.assert_allclose(M.midpoint_ratio(tiny, M.cosine_distance), 1 + np.cos(tiny / 2), rtol=1e-8)
    np.testing.assert_allclose(M.midpoint_ratio(th, M.sqrt_cosine_distance), np.cos(th / 4), rtol=0, atol=1e-9)
    got = M.midpoint_ratio(np.deg2rad([90.0, 120.0, 180.0]), M.cosine_distance)
    np.testing.assert_allclose(got, [1.707107, 1.5, 1.0], atol=1e-6)
    assert np.all(M.midpoint_ratio(th, M.cosine_distance)[:-1] > 1)


# ----------------------------------------------------------------------------------- claim 4


@pytest.mark.parametrize("dim", [2, 3, 8])
def test_claim4_condition_B_and_A_imply_retrieval_but_not_conversely(dim):
    rng = np.random.default_rng(dim)
    n = 200_000
    c1, c2 = M.random_unit_vectors(n, dim, rng), M.random_unit_vectors(n, dim, rng)
    spread = rng.uniform(0.05, 1.0, size=(n, 1))  # samples near their centres, at random spreads
    z1 = c1 + spread * rng.normal(size=(n, dim)) / np.sqrt(dim)
    z3 = c1 + spread * rng.normal(size=(n, dim)) / np.sqrt(dim)
    z2 = c2 + spread * rng.normal(size=(n, dim)) / np.sqrt(dim)
    r = M.retrieval_condition(z1, z2, z3, c1, c2)
    assert r["cond_B"].sum() > 1000  # the test exercises the condition
    assert not np.any(r["cond_B"] & ~r["retrieval_ok"])
    assert not np.any(r["cond_A"] & ~r["retrieval_ok"])
    assert not np.any(r["cond_B"] & ~r["cond_A"])  # (B) implies (A)
    assert np.any(r["retrieval_ok"] & ~r["cond_B"])  # sufficient, not necessary
    # classification alone does not give retrieval
    assert np.any(r["classified_ok"] & ~r["retrieval_ok"])


# ----------------------------------------------------------------------------------- claim 5


def test_claim5_the_counterexample():
    z1, z2, z3, c1, c2 = M.unit_vectors([40.0, 50.0, -40.0, 0.0, 90.0])
    r = M.retrieval_condition(z1, z2, z3, c1, c2)
    assert r["classified_ok"] and not r["retrieval_ok"] and not r["cond_B"]
    emb = np.stack([z1, z2, z3])
    assert M.nearest_center_accuracy(emb, [0, 1, 0], np.stack([c1, c2])) == 1.0
    assert M.retrieval_topk_accuracy(np.stack([z1, z2, z3, z3 * 0.5 + z2]), [0, 1, 0, 1]) < 1
    assert math.cos(math.radians(40)) == pytest.approx(0.766044, abs=1e-6)
    assert math.cos(math.radians(50)) == pytest.approx(0.642788, abs=1e-6)
    assert (z1 @ c1 - z1 @ c2) == pytest.approx(0.123257, abs=1e-6)
    d = r["distances"]
    assert d["z1c1"] + r["margin_term"] == pytest.approx(3 * 0.483690, abs=1e-5)
    assert d["z1c1"] + r["margin_term"] == pytest.approx(1.451069, abs=1e-6)
    assert d["z1c2"] == pytest.approx(0.597672, abs=1e-6)


# ----------------------------------------------------------------------------------- claim 6


def test_claim6_am_softmax_is_cross_entropy_with_a_shifted_target_logit():
    g = torch.Generator().manual_seed(0)
    cos = torch.rand(64, 7, generator=g) * 2 - 1
    y = torch.randint(0, 7, (64,), generator=g)
    for s, m in [(30.0, 0.35), (1.0, 0.0), (64.0, 0.5)]:
        lib = M.am_softmax_loss(cos, y, s, m, reduction="none")
        ref = M.am_softmax_loss_np(cos.numpy(), y.numpy(), s, m, reduction="none")  # log1p(sum exp) form
        np.testing.assert_allclose(lib.numpy(), ref, rtol=1e-6, atol=1e-6)
        # and the softmax form of the digest, written out in float64
        c, yy = cos.double().numpy(), y.numpy()
        tgt = np.exp(s * (c[np.arange(64), yy] - m))
        others = np.where(np.arange(7) == yy[:, None], 0.0, np.exp(s * c)).sum(1)
        np.testing.assert_allclose(lib.numpy(), -np.log(tgt / (tgt + others)), rtol=1e-5, atol=1e-5)


def test_claim6_worked_example():
    cos, y = torch.tensor([[0.8, 0.3, -0.1]]), torch.tensor([0])
    assert M.am_softmax_loss(cos, y, 30.0, 0.35).item() == pytest.approx(math.log(1 + math.exp(-4.5) + math.exp(-16.5)), rel=1e-5)
    assert M.am_softmax_loss(cos, y, 30.0, 0.35).item() == pytest.approx(0.0110478, rel=1e-5)
    assert M.am_softmax_loss_np(cos.numpy(), y.numpy(), 30.0, 0.0) == pytest.approx(3.059e-7, rel=1e-3)


def test_am_softmax_is_finite_at_scale_64_and_its_gradient_matches_autograd_of_the_naive_form():
    cos = torch.tensor([[1.0, -1.0, -1.0], [-1.0, 1.0, 0.99]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1, 0])
    loss = M.am_softmax_loss(cos, y, 64.0, 0.5)
    assert torch.isfinite(loss)
    (g,) = torch.autograd.grad(loss, cos)
    cos2 = cos.detach().clone().requires_grad_(True)
    s, m = 64.0, 0.5
    naive = torch.stack([torch.log1p(sum(torch.exp(s * (cos2[n, i] + m - cos2[n, y[n]])) for i in range(3) if i != y[n]))
                         for n in range(2)]).mean()
    (g2,) = torch.autograd.grad(naive, cos2)
    torch.testing.assert_close(g, g2)


def test_reductions_and_float64():
    cos = torch.rand(5, 3, dtype=torch.float64) * 2 - 1
    y = torch.tensor([0, 1, 2, 0, 1])
    per = M.am_softmax_loss(cos, y, reduction="none")
    assert per.dtype == torch.float64 and per.shape == (5,)
    assert M.am_softmax_loss(cos, y, reduction="sum").item() == pytest.approx(per.sum().item())
    assert M.am_softmax_loss(cos, y).item() == pytest.approx(per.mean().item())


# ----------------------------------------------------------------------------------- claim 7


def test_claim7_distance_loss_matches_its_formula_and_at_m0_predicts_like_softmax():
    g = torch.Generator().manual_seed(1)
    cos = torch.rand(200, 5, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.randint(0, 5, (200,), generator=g)
    d = M.sqrt_cos_distance_for_training(cos)
    for s, m in [(30.0, 0.2), (5.0, 0.0)]:
        got = M.distance_margin_loss(d, y, s, m, reduction="none")
        dy = d[torch.arange(200), y][:, None]
        mask = F.one_hot(y, 5).bool()
        ref = torch.log1p(torch.exp(s * (dy + m - d)).masked_fill(mask, 0).sum(1))
        torch.testing.assert_close(got, ref)
    # m = 0: logits -s sqrt(1 - cos) are a decreasing function of cos, so the arg max is the same
    assert torch.equal((-30 * d).argmax(1), cos.argmax(1))


def test_sqrt_distance_gradient_is_finite_at_cos_1():
    cos = torch.tensor([1.0, 0.5], requires_grad=True)
    M.sqrt_cos_distance_for_training(cos).sum().backward()
    assert torch.isfinite(cos.grad).all()
    assert M.sqrt_cos_distance_for_training(torch.tensor([0.5])).item() == pytest.approx(math.sqrt(0.5))


# ----------------------------------------------------------------------------------- claim 8


def test_claim8_right_hand_side_bound_and_its_consequence():
    c = np.linspace(-1, 1, 2001)
    a, b = np.meshgrid(c, c)
    rhs = np.sqrt(1 - a) + np.sqrt(1 - b)
    assert rhs.max() <= 2 * math.sqrt(2) + 1e-15 and rhs.max() == pytest.approx(2 * math.sqrt(2))
    assert rhs[0, 0] == pytest.approx(2 * math.sqrt(2))  # equality at cos_a = cos_b = -1
    rng = np.random.default_rng(8)
    z, c1, c2 = (M.random_unit_vectors(200_000, 3, rng) for _ in range(3))
    cos1, cos2 = M.cosine_similarity(z, c1), M.cosine_similarity(z, c2)
    d1, d2 = M.sqrt_cosine_distance(z, c1), M.sqrt_cosine_distance(z, c2)
    for m in (0.05, 0.1235, 0.3):
        sure = cos1 - cos2 > 2 * math.sqrt(2) * m
        assert sure.sum() > 1000
        assert np.all(d2[sure] - d1[sure] > m)
    assert 0.35 / (2 * math.sqrt(2)) == pytest.approx(0.123744, abs=1e-6)


# ----------------------------------------------------------------------------------- claim 9


def test_claim9_circle_ceiling_values_and_brute_force():
    for k, want in [(4, 1.0), (8, 0.292893), (10, 0.190983), (20, 0.048943)]:
        assert M.circle_margin_ceiling(k) == pytest.approx(want, abs=1e-6)
        assert M.centre_ceiling(M.unit_vectors(360.0 * np.arange(k) / k)) == pytest.approx(M.circle_margin_ceiling(k), abs=1e-12)
    # the digest gives 0.190983 "(1e-9)"; that is its 6-digit rounding of 1 - cos 36° = (3 - sqrt 5) / 4
    assert M.circle_margin_ceiling(10) == pytest.approx((3 - math.sqrt(5)) / 4, abs=1e-12)
    assert M.circle_margin_ceiling(10) < 0.35


def test_simplex_ceiling_against_a_constructed_simplex():
    for k in (3, 5, 10):
        v = np.eye(k) - 1.0 / k  # a regular simplex in the k-1 dimensional subspace orthogonal to (1, ..., 1)
        assert M.centre_ceiling(v) == pytest.approx(M.simplex_margin_ceiling(k, dim=k - 1), abs=1e-12)
    assert M.simplex_margin_ceiling(3) == pytest.approx(1.5)
    assert M.simplex_margin_ceiling(10) == pytest.approx(1.1111, abs=1e-4)


def test_sphere_ceiling_bound_holds_for_the_platonic_solids_and_rules_out_m04_for_20_classes():
    phi = (1 + 5 ** 0.5) / 2
    tetra = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
    octa = np.vstack([np.eye(3), -np.eye(3)])
    ico = np.array([[0, s1, s2 * phi] for s1 in (-1, 1) for s2 in (-1, 1)], float)
    ico = np.vstack([ico, np.roll(ico, 1, 1), np.roll(ico, 2, 1)])
    for pts, exact in ((tetra, 4 / 3), (octa, 1.0), (ico, 1 - 1 / 5 ** 0.5)):
        got = M.centre_ceiling(pts)
        assert got == pytest.approx(exact, abs=1e-12)
        assert got <= M.sphere_ceiling_bound(len(pts))
    assert M.sphere_ceiling_bound(20) == pytest.approx(0.38)
    # best known 20-point spherical code (Tammes): minimum angle about 47.4 degrees, below the bound
    assert 1 - math.cos(math.radians(47.43)) < M.sphere_ceiling_bound(20) < 0.4


def test_margin_regions_and_claimed_fraction_against_brute_force():
    ang = (np.arange(72_000) + 0.5) / 200
    for k in (2, 3, 8, 10):
        assert np.all(M.margin_regions(ang[::100], k, 0.0) >= 0)
        assert np.all(M.margin_regions(ang[::100], k, M.circle_margin_ceiling(k) + 1e-9) == -1)
        for m in (0.01, 0.1, 0.15, 0.3):
            brute = np.mean(M.margin_regions(ang, k, m) >= 0)
            assert M.claimed_fraction(k, m) == pytest.approx(brute, abs=2 * k / len(ang))  # one grid step per edge
    # the label of an owned direction is its nearest centre
    lab = M.margin_regions(np.array([1.0, 44.0, 46.0, 89.0]), 4, 0.1)
    assert list(lab) == [0, -1, -1, 1]


def test_circle_best_gap_against_brute_force():
    phi = np.linspace(-180, 180, 720_001)
    for a, b in [(30.0, 50.0), (36.0, 36.0), (120.0, 170.0), (180.0, 180.0), (5.0, 180.0)]:
        z = M.unit_vectors(phi)
        cos_y = z[:, 0]
        cos_other = np.maximum(z @ M.unit_vectors(b), z @ M.unit_vectors(-a))
        assert M.circle_best_gap(a, b) == pytest.approx((cos_y - cos_other).max(), abs=1e-9)


def test_circle_loss_floor_is_below_the_best_loss_of_random_centre_sets():
    rng = np.random.default_rng(9)
    k, s = 10, 30.0
    phi = np.linspace(0, 360, 7201)[:-1]
    z = M.unit_vectors(phi)  # (n, 2): every direction a sample could take
    for m in (0.1, 0.35):
        floor = M.circle_loss_floor(k, m, s)
        for _ in range(20):
            cen = M.unit_vectors(np.sort(rng.uniform(0, 360, k)))
            cos = z @ cen.T  # (n, K)
            best = [M.am_softmax_loss_np(cos, np.full(len(z), y), s, m, "none").min() for y in range(k)]
            assert np.mean(best) >= floor - 1e-9
        equal = M.unit_vectors(360.0 * np.arange(k) / k)
        best = [M.am_softmax_loss_np(z @ equal.T, np.full(len(z), y), s, m, "none").min() for y in range(k)]
        # equal spacing: every class pays the floor's per-sample cost, plus at most log 2 (two neighbours tie)
        assert k * floor <= np.mean(best) <= k * floor + math.log(2)
    assert M.circle_loss_floor(10, 0.35, 30.0) > 0.45


# ---------------------------------------------------------------------------------- claim 10


@pytest.mark.slow
def test_claim10_margin_improves_held_out_retrieval_on_the_synthetic_set():
    torch.set_num_threads(1)
    split = M.clustered_split()
    recs = M.margin_sweep(split, [0.0, 0.2], seeds=[0, 1, 2], emb_dim=3, steps=300)
    s = M.summarize(recs, "test_retr")
    assert s["mean"][1] > s["mean"][0]


# ------------------------------------------------------------------------------- the helpers


def test_cosine_matrix_numpy_and_torch_match_sklearn():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=(4, 5))
    np.testing.assert_allclose(M.cosine_matrix(a, b), sk_cosine(a, b), atol=1e-12)
    t = M.cosine_matrix(torch.tensor(a), torch.tensor(b))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), sk_cosine(a, b), atol=1e-12)
    head = M.AMSoftmaxHead(5, 4)
    with torch.no_grad():
        head.centres.copy_(torch.tensor(b))
        np.testing.assert_allclose(head(torch.tensor(a)).numpy(), sk_cosine(a, b), atol=1e-6)  # float32 centres


def _brute_retrieval(emb, labels, k):
    sim = sk_cosine(emb)
    hits = 0
    for i in range(len(labels)):
        order = [j for j in np.argsort(-sim[i], kind="stable") if j != i][:k]
        hits += any(labels[j] == labels[i] for j in order)
    return hits / len(labels)


def test_retrieval_and_classification_metrics_against_loops():
    rng = np.random.default_rng(4)
    emb, lab = rng.normal(size=(120, 3)), rng.integers(0, 6, 120)
    cen = rng.normal(size=(6, 3))
    for k in (1, 3, 10):
        assert M.retrieval_topk_accuracy(emb, lab, k) == pytest.approx(_brute_retrieval(emb, lab, k))
    pred = [int(np.argmax([e @ c / np.linalg.norm(e) / np.linalg.norm(c) for c in cen])) for e in emb]
    assert M.nearest_center_accuracy(emb, lab, cen) == pytest.approx(np.mean(np.array(pred) == lab))
    sim = sk_cosine(emb)
    np.fill_diagonal(sim, -2)
    mis = np.mean((np.array(pred) == lab) & (lab[sim.argmax(1)] != lab))
    assert M.misranked_fraction(emb, lab, cen) == pytest.approx(mis)
    radius, per = M.class_radius(emb, lab, cen)
    d = [math.sqrt(max(0.0, 1 - e @ cen[c] / np.linalg.norm(e) / np.linalg.norm(cen[c]))) for e, c in zip(emb, lab)]
    assert radius == pytest.approx(np.mean(d))
    assert per[2] == pytest.approx(np.mean([v for v, c in zip(d, lab) if c == 2]))
    assert M.estimate_margin_from_diameter(emb, lab, cen) == pytest.approx(2 * np.mean(d))


def test_logsumexp_hinge_is_a_smooth_max_within_log_n_plus_1():
    rng = np.random.default_rng(6)
    for _ in range(100):
        a = rng.normal(size=rng.integers(1, 20)) * 3
        s = float(rng.uniform(0.5, 50))
        hard = max(0.0, s * a.max())
        got = M.logsumexp_hinge(a, s)
        assert hard <= got <= hard + math.log(len(a) + 1) + 1e-12
        if s * a.max() < 500:  # where the naive formula does not overflow
            assert got == pytest.approx(math.log1p(np.exp(s * a).sum()), rel=1e-9)
    assert M.logsumexp_hinge([-1.0, -2.0], 100.0) < 1e-40  # every inequality holds with room: ~0


def test_clustered_split_is_deterministic_and_has_the_stated_sizes():
    a, b = M.clustered_split(seed=7), M.clustered_split(seed=7)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.x_train.shape == (20 * 50, 16) and a.x_test.shape == (20 * 25, 16) and a.x_new.shape == (10 * 25, 16)
    assert a.n_classes == 20 and set(a.y_new) == set(range(10))
    assert np.bincount(a.y_test).tolist() == [25] * 20
    assert not np.array_equal(M.clustered_split(seed=8).x_train, a.x_train)
    x, y, means = M.make_clustered_data(3, 4000, dim=2, spread=0.5, seed=1)
    for c in range(3):  # samples scatter around their mean with the stated spread
        assert np.abs(x[y == c].mean(0) - means[c]).max() < 0.05
        assert x[y == c].std(0) == pytest.approx([0.5, 0.5], rel=0.05)


def test_digits_split_is_stratified_and_holds_out_classes():
    s = M.digits_split()
    assert len(s.y_train) + len(s.y_test) == 1797 and len(s.y_new) == 0
    assert s.x_train.shape[1] == 64 and s.x_train.max() <= 1.0
    assert np.all(np.abs(np.bincount(s.y_train) - np.bincount(s.y_test)) <= 1)
    o = M.digits_split(new_classes=(6, 7, 8, 9))
    assert o.n_classes == 6 and set(o.y_new) == {6, 7, 8, 9} and set(o.y_train) == set(range(6))
    # no image appears in two parts
    rows = {r.tobytes() for r in o.x_train}
    assert not any(r.tobytes() in rows for r in o.x_test[:200])


def test_training_is_deterministic_leaves_the_global_rng_alone_and_learns():
    torch.set_num_threads(1)
    split = M.clustered_split(n_classes=5, n_new_classes=2, n_train=20, n_test=10)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    torch.use_deterministic_algorithms(True)
    try:
        a = M.train_margin_classifier(split.x_train, split.y_train, margin=0.2, steps=60, seed=3)
        b = M.train_margin_classifier(split.x_train, split.y_train, margin=0.2, steps=60, seed=3)
    finally:
        torch.use_deterministic_algorithms(False)
    assert torch.rand(1) == before  # the global generator was not advanced
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.embed(split.x_test), b.embed(split.x_test))
    assert a.losses[-1] < 0.5 * a.losses[0]
    assert M.evaluate(a, split)["train_cls"] > 0.9
    c = M.train_margin_classifier(split.x_train, split.y_train, margin=0.2, steps=60, seed=4)
    assert not np.array_equal(a.losses, c.losses)
    # kind="sqrt" trains too, and init continues from a copy without touching the original
    d = M.train_margin_classifier(split.x_train, split.y_train, margin=0.1, steps=30, kind="sqrt", init=a)
    np.testing.assert_array_equal(a.embed(split.x_test), b.embed(split.x_test))
    assert M.evaluate(d, split)["train_cls"] > 0.9
    assert np.allclose(np.linalg.norm(a.embed(split.x_test), axis=1), 1) and np.allclose(np.linalg.norm(a.centres(), axis=1), 1)


def test_sweep_summarize_table_and_adaptive_schedule():
    split = M.clustered_split(n_classes=4, n_new_classes=2, n_train=15, n_test=8)
    recs = M.margin_sweep(split, [0.0, 0.2], [0, 1], steps=20, keep_embeddings=True)
    assert len(recs) == 4 and recs[0]["test_emb"].shape == (32, 3)
    s = M.summarize(recs, "test_cls")
    assert s["margin"].tolist() == [0.0, 0.2]
    assert s["mean"][0] == pytest.approx(np.mean([recs[0]["test_cls"], recs[1]["test_cls"]]))
    assert s["min"][1] == min(recs[2]["test_cls"], recs[3]["test_cls"])
    model = M.train_margin_classifier(split.x_train, split.y_train, margin=0.0, steps=20, seed=0)
    ev, e_te, cen = M.evaluate(model, split), model.embed(split.x_test), model.centres()
    assert ev["test_cls"] == recs[0]["test_cls"] == M.nearest_center_accuracy(e_te, split.y_test, cen)
    assert ev["test_retr"] == M.retrieval_topk_accuracy(e_te, split.y_test)
    assert ev["test_misranked"] == M.misranked_fraction(e_te, split.y_test, cen)
    assert ev["new_retr"] == M.retrieval_topk_accuracy(model.embed(split.x_new), split.y_new)
    table = M.sweep_table(recs, ["test_cls"], ["cls"], caption="a < b")._repr_html_()
    assert table.count("<tr>") == 3 and ">0.20</td>" in table and "a &lt; b" in table
    assert f">{s['mean'][0]:.3f}<br><small>({s['min'][0]:.3f}–{s['max'][0]:.3f})</small></td>" in table
    with pytest.raises(ValueError, match="same length"):
        M.sweep_table(recs, ["test_cls"], ["cls", "extra"])
    ad = M.adaptive_margin_schedule(split, rounds=2, seeds=[0], steps=20)
    assert [r["round"] for r in ad] == [0, 1, 2]
    assert ad[0]["margin"] == 0.0 and ad[1]["margin"] == pytest.approx(ad[0]["diameter"])
    assert ad[0]["diameter"] == pytest.approx(2 * ad[0]["radius"])


def test_draw_functions_return_figures():
    split = M.clustered_split(n_classes=3, n_new_classes=2, n_train=10, n_test=5)
    recs = M.margin_sweep(split, [0.0, 0.1], [0], steps=5, emb_dim=2, keep_embeddings=True)
    figs = [M.draw_triangle_failure(n_triples=50), M.draw_classification_vs_ranking(10, 80),
            M.draw_am_loss(0.2, 5.0), M.draw_decision_regions(5, 0.5),
            M.draw_sweeps([("a", recs), ("b", recs)], [{"test_retr": 0.5}, {"new_retr": 0.4}]),
            M.draw_circle_experiment(recs, 0.1, split.y_test, ceiling=0.3)]
    assert all(hasattr(f, "savefig") for f in figs)


# ------------------------------------------------------------------------------ bad arguments


def test_bad_arguments_are_refused_with_clear_errors():
    cos, y = torch.tensor([[0.5, 0.1]]), torch.tensor([0])
    with pytest.raises(ValueError, match="scale"):
        M.am_softmax_loss(cos, y, scale=0.0)
    with pytest.raises(ValueError, match="scale"):
        M.am_softmax_loss(cos, y, scale=float("inf"))
    with pytest.raises(ValueError, match="margin"):
        M.am_softmax_loss(cos, y, margin=-0.1)
    assert torch.isfinite(M.am_softmax_loss(cos, y, margin=-0.1, allow_negative=True))
    with pytest.raises(ValueError, match="reduction"):
        M.am_softmax_loss(cos, y, reduction="avg")
    with pytest.raises(ValueError, match="raw logits"):
        M.am_softmax_loss(torch.tensor([[3.0, 0.1]]), y)
    with pytest.raises(ValueError, match="finite"):
        M.am_softmax_loss(torch.tensor([[float("nan"), 0.1]]), y)
    with pytest.raises(TypeError, match="labels"):
        M.am_softmax_loss(cos, torch.tensor([0.0]))
    with pytest.raises(ValueError, match="labels must lie"):
        M.am_softmax_loss(cos, torch.tensor([2]))
    with pytest.raises(ValueError, match="labels must have shape"):
        M.am_softmax_loss(cos, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        M.am_softmax_loss(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="K >= 2"):
        M.am_softmax_loss(torch.zeros(2, 1), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="dist must lie"):
        M.distance_margin_loss(torch.tensor([[-0.1, 0.2]]), y)
    with pytest.raises(ValueError, match="eps"):
        M.sqrt_cos_distance_for_training(cos, eps=0)


def test_bad_geometry_arguments_are_refused():
    with pytest.raises(ValueError, match="zero vector"):
        M.cosine_distance([0.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="different dimensions"):
        M.chord_distance([1.0, 0.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="2-D"):
        M.cosine_matrix(np.ones(3), np.ones((2, 3)))
    with pytest.raises(TypeError, match="both"):
        M.cosine_matrix(torch.ones(2, 3), np.ones((2, 3)))
    with pytest.raises(ValueError, match="zero row"):
        M.cosine_matrix(torch.zeros(2, 3), torch.ones(2, 3))
    with pytest.raises(TypeError, match="callable"):
        M.triangle_violations("chord", np.ones((1, 2)), np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="theta"):
        M.midpoint_ratio(0.0)
    with pytest.raises(ValueError, match="n_classes"):
        M.circle_margin_ceiling(1)
    with pytest.raises(ValueError, match="n_classes"):
        M.sphere_ceiling_bound(2.5)
    with pytest.raises(ValueError, match="dim"):
        M.simplex_margin_ceiling(10, dim=3)
    with pytest.raises(ValueError, match="margin"):
        M.margin_regions([0.0], 4, -0.1)
    with pytest.raises(ValueError, match="margin"):
        M.claimed_fraction(4, float("nan"))
    with pytest.raises(ValueError, match="neighbour"):
        M.circle_best_gap(0.0, 10.0)
    with pytest.raises(ValueError, match="neighbour"):
        M.circle_best_gap(120.0, 200.0)
    with pytest.raises(TypeError, match="Generator"):
        M.random_unit_vectors(3, 2, 0)
    with pytest.raises(ValueError, match="dim"):
        M.random_unit_vectors(3, 0, np.random.default_rng())


def test_bad_data_and_training_arguments_are_refused():
    with pytest.raises(ValueError, match="spread"):
        M.make_clustered_data(3, 5, spread=0.0)
    with pytest.raises(ValueError, match="n_classes"):
        M.make_clustered_data(1, 5)
    with pytest.raises(ValueError, match="n_test"):
        M.clustered_split(n_test=1)
    with pytest.raises(ValueError, match="new_classes"):
        M.digits_split(new_classes=(10,))
    with pytest.raises(ValueError, match="test_fraction"):
        M.digits_split(test_fraction=1.0)
    x, y = np.ones((4, 2), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="kind"):
        M.train_margin_classifier(x, y, margin=0.1, kind="arc")
    with pytest.raises(ValueError, match="steps"):
        M.train_margin_classifier(x, y, margin=0.1, steps=0)
    with pytest.raises(ValueError, match="lr"):
        M.train_margin_classifier(x, y, margin=0.1, lr=2.0)
    with pytest.raises(TypeError, match="integer class"):
        M.train_margin_classifier(x, y.astype(float), margin=0.1)
    with pytest.raises(ValueError, match="two classes"):
        M.train_margin_classifier(x, np.zeros(4, int), margin=0.1)
    with pytest.raises(ValueError, match="k="):
        M.retrieval_topk_accuracy(np.ones((3, 2)), [0, 0, 1], k=3)
    with pytest.raises(ValueError, match="two samples"):
        M.retrieval_topk_accuracy(np.eye(3), [0, 0, 1])
    with pytest.raises(ValueError, match="non-empty"):
        M.margin_sweep(M.clustered_split(n_classes=2, n_new_classes=0, n_train=3, n_test=2), [], [0])
    with pytest.raises(ValueError, match="key"):
        M.summarize([{"margin": 0.0}], "test_cls")
    with pytest.raises(ValueError, match="rounds"):
        M.adaptive_margin_schedule(M.clustered_split(n_classes=2, n_new_classes=0, n_train=3, n_test=2), rounds=0)
