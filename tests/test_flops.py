"""lib.flops against brute-force matmul counts, exact fractions, PyTorch's FLOP counter and torch's own layers.

Every checkable claim of the chapter-2 digest (articles/02-linear-transformer-flops.md) has a test
here; the numbers quoted in the digest are its author's own arithmetic, repeated as fixed values.
Timings are never asserted.
"""
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lib import flops as fl

BASE = dict(hidden=768, heads=12, ffn_dim=3072)


def brute_force_layer_mults(n, H, h, F):
    """Sum a*b*c over every matrix product of a post-LN BERT layer, written out shape by shape."""
    d = H // h
    products = [(n, H, H)] * 3  # Q, K, V projections
    products += [(n, d, n)] * h  # Q_h K_h^T, per head
    products += [(n, n, d)] * h  # softmax(.) V_h, per head
    products += [(n, H, H)]  # output projection
    products += [(n, H, F), (n, F, H)]  # FFN up and down
    return sum(a * b * c for a, b, c in products)


# --- the article's closed forms ----------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 7, 128, 512, 4096])
def test_attention_mults_are_the_sum_of_the_five_matmuls_and_the_closed_form(n):
    parts = fl.attention_mults(n, 768, 12)
    assert parts["total"] == 4 * n * 768**2 + 2 * n**2 * 768
    h, d = 12, 64
    assert parts["qkv_proj"] == 3 * n * (h * d) ** 2
    assert parts["scores"] == h * n * n * d and parts["weighted_sum"] == h * n * n * d
    assert parts["out_proj"] == n * (h * d) ** 2
    assert parts["total"] == sum(v for k, v in parts.items() if k != "total")


@pytest.mark.parametrize("n,H,h,F", [(1, 8, 2, 32), (37, 96, 3, 200), (512, 768, 12, 3072), (300, 1024, 16, 4096)])
def test_layer_total_matches_a_brute_force_sum_over_every_product(n, H, h, F):
    assert fl.layer_mults(n, H, h, F)["total"] == brute_force_layer_mults(n, H, h, F)


def test_digest_values_at_512():
    c = fl.layer_mults(512, **BASE)
    assert c["sa"] == 1_610_612_736
    assert c["ffn"] == fl.ffn_mults(512, 768) == 8 * 512 * 768**2 == 2_415_919_104
    assert c["total"] == 4_026_531_840
    assert fl.model_mults(512, 12, **BASE) == 48_318_382_080  # 4.8318e10 in the digest
    assert fl.flops_from_mults(fl.model_mults(512, 12, **BASE)) == 96_636_764_160


def test_digest_per_layer_table():
    table = {  # n: (SA, FFN, total, n^2 share %, SA share %)
        128: (327_155_712, 603_979_776, 931_135_488, 2.70, 35.14),
        256: (704_643_072, 1_207_959_552, 1_912_602_624, 5.26, 36.84),
        1024: (4_026_531_840, 4_831_838_208, 8_858_370_048, 18.18, 45.45),
        2048: (11_274_289_152, 9_663_676_416, 20_937_965_568, 30.77, 53.85),
        4096: (35_433_480_192, 19_327_352_832, 54_760_833_024, 47.06, 64.71),
        8192: (122_406_567_936, 38_654_705_664, 161_061_273_600, 64.00, 76.00),
    }
    for n, (sa, ffn, total, q, s) in table.items():
        c = fl.layer_mults(n, **BASE)
        assert (c["sa"], c["ffn"], c["total"]) == (sa, ffn, total)
        assert round(100 * c["quadratic_share"], 2) == q and round(100 * c["sa_share"], 2) == s


def test_vectorised_counts_equal_the_scalar_ones():
    ns = np.array([1, 128, 1535, 4608, 32768])
    vec = fl.layer_mults(ns, **BASE)
    for i, n in enumerate(ns):
        one = fl.layer_mults(int(n), **BASE)
        for key in ("sa", "ffn", "total", "quadratic_part"):
            assert vec[key][i] == one[key] and vec[key].dtype == np.int64
        assert vec["sa_share"][i] == one["sa_share"]


def test_shares_have_the_closed_forms_exactly():
    for n in [1, 64, 512, 1536, 4608, 10_000]:
        c = fl.layer_mults(n, **BASE)
        assert Fraction(c["quadratic_part"], c["total"]) == Fraction(n, n + 6 * 768)
        assert Fraction(c["sa"], c["total"]) == Fraction(n + 2 * 768, n + 6 * 768)
        assert c["quadratic_share"] == float(Fraction(n, n + 6 * 768))


def test_n2_work_is_exactly_a_tenth_of_a_base_layer_at_512_and_sa_two_fifths():
    c = fl.layer_mults(512, **BASE)
    assert c["quadratic_part"] == 402_653_184
    assert Fraction(c["quadratic_part"], c["total"]) == Fraction(1, 10)
    assert Fraction(c["sa"], c["total"]) == Fraction(2, 5)


def test_removing_the_n2_terms_or_the_whole_sa_at_128():
    c = fl.layer_mults(128, **BASE)
    assert round(100 * c["quadratic_part"] / c["total"], 2) == 2.70
    assert round(100 * c["sa"] / c["total"], 2) == 35.14


# --- thresholds --------------------------------------------------------------------------------

def test_sa_equals_ffn_at_1536_and_flips_either_side():
    assert fl.sa_ffn_crossover(768) == 1536 == 2 * 768
    at = fl.layer_mults(1536, **BASE)
    assert at["sa"] == at["ffn"] == 7_247_757_312
    below, above = fl.layer_mults(1535, **BASE), fl.layer_mults(1537, **BASE)
    assert below["sa"] < below["ffn"] and above["sa"] > above["ffn"]


@pytest.mark.parametrize("H,F", [(64, 256), (96, 100), (128, 1000), (256, 1024), (1024, 4096), (512, 512)])
def test_sa_ffn_crossover_is_the_last_length_where_sa_does_not_exceed_ffn_by_brute_force(H, F):
    ns = np.arange(1, 3 * F)
    c = fl.layer_mults(ns, H, 1, F)
    exceeds = c["sa"] > c["ffn"]
    first = int(ns[np.argmax(exceeds)])
    assert fl.sa_ffn_crossover(H, F) == max(first - 1, 0)


@pytest.mark.parametrize("H,F", [(64, 256), (96, 100), (768, 3072), (1024, 4096)])
def test_quadratic_dominance_length_by_brute_force(H, F):
    ns = np.arange(1, 3 * (2 * H + F))
    c = fl.layer_mults(ns, H, 1, F)
    first = int(ns[np.argmax(c["quadratic_part"] > c["linear_part"])])
    assert fl.quadratic_dominance_length(H, F) == first - 1


def test_quadratic_equals_linear_at_4608_exactly():
    assert fl.quadratic_dominance_length(768) == 4608 == 6 * 768
    c = fl.layer_mults(4608, **BASE)
    assert c["quadratic_part"] == c["linear_part"] == 2 * 4608**2 * 768 == 12 * 4608 * 768**2 == 32_614_907_904
    assert c["quadratic_share"] == 0.5


def test_bert_large_thresholds():
    large = fl.PRESETS["BERT-large"]
    assert fl.sa_ffn_crossover(large["hidden"], large["ffn_dim"]) == 2048
    assert fl.quadratic_dominance_length(large["hidden"], large["ffn_dim"]) == 6144


def test_crossover_is_zero_when_the_ffn_is_narrow():
    assert fl.sa_ffn_crossover(256, 256) == 0
    assert fl.layer_mults(1, 256, 4, 256)["sa"] > fl.layer_mults(1, 256, 4, 256)["ffn"]


# --- linear attention --------------------------------------------------------------------------

def test_linear_attention_is_2nd2_per_head_and_matches_the_einsum_flop_count():
    n, h, d = 512, 12, 64
    assert fl.linear_attention_mults(n, h, d) == h * 2 * n * d * d
    fk, v, fq = (torch.zeros(1, h, n, d, device="meta") for _ in range(3))
    with FlopCounterMode(display=False) as c1:
        kv = torch.einsum("bhnd,bhne->bhde", fk, v)
    with FlopCounterMode(display=False) as c2:
        torch.einsum("bhnd,bhde->bhne", fq, kv)
    assert c1.get_total_flops() == c2.get_total_flops() == 2 * n * d**2 * h == 50_331_648
    assert c1.get_total_flops() + c2.get_total_flops() == fl.flops_from_mults(fl.linear_attention_mults(n, h, d))


def test_linear_attention_options():
    assert fl.linear_attention_mults(100, 2, 8, expand=3) == 2 * 100 * 2 * 24 * 24
    assert fl.linear_attention_mults(100, 2, 8, head_dim_v=4) == 2 * 100 * 2 * 8 * 4
    assert fl.linear_attention_mults(100, 2, 8, normaliser=True) == 2 * 100 * 2 * 64 + 100 * 2 * 8


@pytest.mark.parametrize("d,e", [(64, 1), (64, 4), (32, 2), (128, 3)])
def test_linear_vs_standard_crossover_by_brute_force(d, e):
    ns = np.arange(1, 4 * e * e * d)
    std = fl.standard_attention_core_mults(ns, 1, d)
    lin = fl.linear_attention_mults(ns, 1, d, e)
    first = int(ns[np.argmax(lin < std)])
    assert fl.linear_vs_standard_crossover(d, e) == first - 1 == e * e * d


def test_linear_crossover_values_quoted_in_the_digest():
    assert fl.linear_vs_standard_crossover(64, 1) == 64 and fl.linear_vs_standard_crossover(64, 4) == 1024
    assert fl.standard_attention_core_mults(64, 1, 64) == fl.linear_attention_mults(64, 1, 64) == 524_288
    assert fl.standard_attention_core_mults(1024, 1, 64) == fl.linear_attention_mults(1024, 1, 64, 4) == 134_217_728


def test_whole_layer_speedup_table():
    table = {128: (1.0137, 0.8409), 512: (1.0959, 0.9091), 1024: (1.2055, 1.0), 2048: (1.4247, 1.1818),
             4096: (1.8630, 1.5455), 8192: (2.7397, 2.2727), 16384: (4.4932, 3.7273)}
    for n, (same, wide) in table.items():
        assert round(fl.linear_speedup(n, **BASE, expand=1), 4) == same
        assert round(fl.linear_speedup(n, **BASE, expand=4), 4) == wide
    assert fl.layer_mults_linear(512, **BASE, expand=4)["total"] == 4_429_185_024
    assert fl.layer_mults_linear(1024, **BASE, expand=4)["total"] == fl.layer_mults(1024, **BASE)["total"]
    vec = fl.linear_speedup(np.array([512, 1024]), **BASE, expand=4)
    np.testing.assert_allclose(vec, [fl.linear_speedup(512, **BASE, expand=4), 1.0], rtol=1e-15)


def test_grown_projections_scale_with_expand():
    kept = fl.layer_mults_linear(256, **BASE, expand=4)
    grown = fl.layer_mults_linear(256, **BASE, expand=4, grow_projections=True)
    assert grown["qkv_proj"] == 4 * kept["qkv_proj"] and grown["out_proj"] == 4 * kept["out_proj"]
    assert grown["kv"] == kept["kv"] and grown["ffn"] == kept["ffn"]


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_linear_attention_core_equals_the_quadratic_order_with_normaliser(dtype, tol):
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 3, 50, 8, generator=g, dtype=dtype) for _ in range(3))  # (b, h, n, d)
    out = fl.linear_attention_core(q, k, v, eps=0.0)
    fq, fk = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
    a = fq @ fk.transpose(-1, -2)  # (b, h, n, n): the left-to-right order
    ref = (a @ v) / a.sum(-1, keepdim=True)
    # outputs are O(1) weighted means of v: compare with a tolerance on that scale
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)


def test_softmax_core_matches_torch_sdpa():
    g = torch.Generator().manual_seed(4)
    q, k, v = (torch.randn(2, 3, 40, 16, generator=g, dtype=torch.float64) for _ in range(3))
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(fl.softmax_attention_core(q, k, v), ref, rtol=1e-12, atol=1e-12)


def test_rank_demo_softmax_full_linear_d():
    for d in (8, 16, 64):
        r = fl.attention_rank_demo(256, d, seed=0)
        assert r == {"softmax": 256, "linear": d}


# --- PyTorch's FLOP counter --------------------------------------------------------------------

@pytest.mark.parametrize("n,expected", [(128, 1_862_270_976), (512, 8_053_063_680), (1536, 28_991_029_248)])
def test_flop_counter_equals_twice_the_article_count_on_a_base_layer(n, expected):
    layer = fl.BertLikeLayer(**BASE, device="meta")
    counted = fl.count_flops(layer, torch.zeros(1, n, 768, device="meta"))
    assert counted == expected == fl.flops_from_mults(fl.layer_mults(n, **BASE)["total"])


def test_flop_counter_on_real_cpu_tensors_matches_meta():
    layer = fl.BertLikeLayer(256, 4, 1024)
    x = torch.randn(2, 96, 256)
    assert fl.count_flops(layer, x) == 2 * 2 * fl.layer_mults(96, 256, 4, 1024)["total"]  # batch 2


def test_torch_transformer_encoder_layer_is_counted_exactly_when_fused_paths_are_decomposed():
    layer = nn.TransformerEncoderLayer(768, 12, 3072, dropout=0.0, batch_first=True).eval()
    x = torch.randn(1, 64, 768)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fl.count_flops(layer, x) == 2 * fl.layer_mults(64, **BASE)["total"]
    with pytest.warns(fl.UncountedFlopsWarning, match="transformer_encoder_layer_fwd"):
        assert fl.count_flops(layer, x, decompose_fused=False) == 0  # the eval fast path counts nothing


@pytest.mark.parametrize("n", [16, 64])
def test_sdpa_on_cpu_misses_exactly_the_n2_work_and_warns(n):
    layer = fl.BertLikeLayer(64, 4, 256, attention="sdpa")
    x = torch.zeros(1, n, 64)
    expected = 2 * fl.layer_mults(n, 64, 4, 256)["total"]
    with pytest.warns(fl.UncountedFlopsWarning, match="scaled_dot_product"):
        short = fl.count_flops(layer, x, decompose_fused=False)
    assert short == expected - 2 * fl.layer_mults(n, 64, 4, 256)["quadratic_part"]
    assert fl.count_flops(layer, x) == expected


def test_sdpa_shortfall_shares_quoted_in_the_digest():
    # the counted fraction is 1 - (n^2 share), so the digest's 0.97297, 0.9, 0.75 at 128, 512, 1536
    for n, share in [(128, 0.97297), (512, 0.9), (1536, 0.75)]:
        assert round(1 - fl.layer_mults(n, **BASE)["quadratic_share"], 5) == share


def test_flop_check_returns_the_three_counts():
    chk = fl.flop_check([16, 32], 64, 2, 256)
    np.testing.assert_array_equal(chk["explicit"], chk["analytic"])
    assert (chk["sdpa"] < chk["analytic"]).all()


def test_linear_layer_is_counted_with_grown_projections_and_normaliser():
    layer = fl.BertLikeLayer(**BASE, attention="linear", expand=4, device="meta")
    counted = fl.count_flops(layer, torch.zeros(1, 512, 768, device="meta"))
    assert counted == 2 * fl.layer_mults_linear(512, **BASE, expand=4, grow_projections=True, normaliser=True)["total"]


def test_explicit_layer_computes_the_same_function_as_its_sdpa_twin():
    x = torch.randn(2, 33, 64, generator=torch.Generator().manual_seed(1))
    a = fl.BertLikeLayer(64, 4, 128, seed=5)
    b = fl.BertLikeLayer(64, 4, 128, attention="sdpa", seed=5)
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x), rtol=1e-5, atol=1e-5)


def test_layer_weights_depend_on_the_seed_only_and_leave_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b, c = fl.BertLikeLayer(32, 2, seed=7), fl.BertLikeLayer(32, 2, seed=7), fl.BertLikeLayer(32, 2, seed=8)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(a.qkv.weight, b.qkv.weight) and not torch.equal(a.qkv.weight, c.qkv.weight)


# --- whole models and 6N + 12 L H Q T ---------------------------------------------------------

def test_bert_layer_params_equal_torch_transformer_encoder_layer():
    for H, h, F in [(768, 12, 3072), (1024, 16, 4096)]:
        torch_layer = sum(p.numel() for p in nn.TransformerEncoderLayer(H, h, F).parameters())
        assert fl.bert_params(H, F, layers=1, pooler=False)["encoder"] == torch_layer
        emb = sum(m.weight.numel() for m in (nn.Embedding(30522, H), nn.Embedding(512, H), nn.Embedding(2, H)))
        emb += sum(p.numel() for p in nn.LayerNorm(H).parameters())
        assert fl.bert_params(H, F)["embeddings"] == emb
        assert fl.bert_params(H, F)["pooler"] == sum(p.numel() for p in nn.Linear(H, H).parameters())


def test_bert_totals_agree_with_the_papers_rounded_110m_and_340m():
    # Devlin et al. (2019) report 110M and 340M parameters; our counts must be within 2% of them.
    base = fl.bert_params(**{k: fl.PRESETS["BERT-base"][k] for k in ("hidden", "ffn_dim", "layers")})
    large = fl.bert_params(**{k: fl.PRESETS["BERT-large"][k] for k in ("hidden", "ffn_dim", "layers")})
    assert base["total"] == 109_482_240
    assert abs(base["total"] / 110e6 - 1) < 0.02 and abs(large["total"] / 340e6 - 1) < 0.02


def test_training_estimate_is_three_times_twice_the_forward_count_per_token():
    for preset in ("BERT-base", "BERT-large"):
        p = fl.PRESETS[preset]
        H, h, F, L, T = p["hidden"], p["heads"], p["ffn_dim"], p["layers"], 512
        per_token = fl.training_flops_per_token(fl.matmul_params(H, F, L), L, h, H // h, T)
        assert per_token * T == 3 * fl.flops_from_mults(fl.model_mults(T, L, H, h, F))


@pytest.mark.parametrize("H,h,F,L,T", [(64, 4, 256, 3, 40), (768, 12, 3072, 2, 128)])
def test_training_estimate_equals_flop_counter_forward_and_backward(H, h, F, L, T):
    counted = fl.count_model_flops(T, L, H, h, F, backward=True)
    assert counted == fl.training_flops_per_token(fl.matmul_params(H, F, L), L, h, H // h, T) * T
    assert counted == 3 * fl.count_model_flops(T, L, H, h, F)


def test_count_model_flops_on_cpu_equals_meta():
    assert fl.count_model_flops(24, 2, 32, 2, 64, device="cpu") == fl.count_model_flops(24, 2, 32, 2, 64)


# --- timing helpers (no timing is asserted) ------------------------------------------------------

def test_time_forward_restores_threads_and_returns_seconds():
    before = torch.get_num_threads()
    t = fl.time_forward(nn.Linear(8, 8), torch.zeros(2, 8), repeats=3, warmup=1, threads=1)
    assert t > 0 and torch.get_num_threads() == before


def test_time_layer_sweep_shapes_and_groups():
    t = fl.time_layer_sweep([8, 16, 24], hidden=32, heads=2, repeats=2, warmup=0, linear_expands=(1, 2))
    assert t.stages["wall"]["softmax"].shape == (2, 3) and set(t.cores["cpu"]) == {"linear e=1", "linear e=2"}
    np.testing.assert_allclose(t.group("SA"), t.group("projections") + t.group("n² attention"))
    assert t.ratio("SA", "FFN").shape == (3,) and (t.best("FFN", "cpu") >= 0).all()
    assert t.best_core("linear e=2").shape == (3,)


def test_stage_marks_cover_every_stage_in_order():
    wall, cpu = fl.time_stages(fl.BertLikeLayer(32, 2), torch.zeros(1, 8, 32))
    assert tuple(wall) == fl.SOFTMAX_STAGES == tuple(cpu)
    wall, _ = fl.time_stages(fl.BertLikeLayer(32, 2, attention="linear"), torch.zeros(1, 8, 32))
    assert tuple(wall) == ("qkv_proj", "feature_map", "kv", "weighted_sum", "out_proj", "ffn_up", "ffn_down")


def test_crossover_length_interpolates_a_power_law_exactly():
    n = np.array([128, 256, 512, 1024, 2048])
    assert fl.crossover_length(n, (n / 700.0) ** 1.5) == pytest.approx(700.0, rel=1e-12)
    assert fl.crossover_length(n, np.full(5, 0.5)) is None
    assert fl.crossover_length(n, np.full(5, 2.0)) == 128.0


# --- figures ---------------------------------------------------------------------------------------

def test_draw_functions_return_figures():
    t = fl.time_layer_sweep([8, 16], hidden=32, heads=2, repeats=1, warmup=0)
    figs = [fl.draw_cost_breakdown(12, 64), fl.draw_linear_vs_standard(4, 64), fl.draw_cost_breakdown(1, 8, 1),
            fl.draw_flop_check(fl.flop_check([8, 16], 32, 2)), fl.draw_time_ratio(t, 32),
            fl.draw_time_shares(16, t, 32), fl.draw_core_times(t, 2, 16)]
    assert all(hasattr(f, "savefig") for f in figs)
    with pytest.raises(ValueError, match="n=12"):
        fl.draw_time_shares(12, t, 32)


# --- bad arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("bad,err", [(True, TypeError), (1.5, TypeError), ("512", TypeError), (0, ValueError),
                                     (-3, ValueError), (None, TypeError), (float("nan"), TypeError)])
def test_bad_lengths_are_refused(bad, err):
    with pytest.raises(err, match="n="):
        fl.layer_mults(bad)


def test_integral_floats_and_numpy_ints_are_accepted():
    assert fl.layer_mults(512.0)["total"] == fl.layer_mults(np.int32(512))["total"] == 4_026_531_840


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="heads=5 must divide hidden=768"):
        fl.layer_mults(8, 768, 5)
    with pytest.raises(ValueError, match="ffn_dim=0"):
        fl.ffn_mults(8, 768, 0)
    with pytest.raises(TypeError, match="hidden=True"):
        fl.attention_mults(8, True)
    with pytest.raises(ValueError, match="n must"):
        fl.layer_mults(np.array([[1, 2]]))
    with pytest.raises(TypeError, match="dtype"):
        fl.layer_mults(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="at least 1"):
        fl.layer_mults(np.array([0, 4]))
    with pytest.raises(ValueError, match="expand=0"):
        fl.linear_vs_standard_crossover(64, 0)
    with pytest.raises(TypeError, match="normaliser"):
        fl.linear_attention_mults(8, normaliser=1)
    with pytest.raises(TypeError, match="grow_projections"):
        fl.layer_mults_linear(8, grow_projections="yes")
    with pytest.raises(TypeError, match="mults"):
        fl.flops_from_mults(1.5)
    with pytest.raises(ValueError, match="mults"):
        fl.flops_from_mults(-1)
    with pytest.raises(ValueError, match="layers=0"):
        fl.model_mults(8, 0)
    with pytest.raises(ValueError, match="seq_len=0"):
        fl.training_flops_per_token(100, 1, 1, 1, 0)


def test_bad_torch_arguments_are_refused():
    with pytest.raises(ValueError, match="attention='flash'"):
        fl.BertLikeLayer(attention="flash")
    with pytest.raises(ValueError, match="expand=4"):
        fl.BertLikeLayer(expand=4)
    with pytest.raises(ValueError, match="seed=-1"):
        fl.BertLikeLayer(32, 2, seed=-1)
    with pytest.raises(TypeError, match="module"):
        fl.count_flops(lambda x: x, torch.zeros(1))
    with pytest.raises(TypeError, match="x must"):
        fl.count_flops(nn.Linear(2, 2), [1.0, 2.0])
    with pytest.raises(ValueError, match="repeats=0"):
        fl.time_forward(nn.Linear(2, 2), torch.zeros(1, 2), repeats=0)
    with pytest.raises(ValueError, match="warmup=-1"):
        fl.time_forward(nn.Linear(2, 2), torch.zeros(1, 2), warmup=-1)
    with pytest.raises(TypeError, match="linear_expands"):
        fl.time_layer_sweep([8], 32, 2, linear_expands=4)
    with pytest.raises(ValueError, match="clock='gpu'"):
        fl.time_layer_sweep([8], 32, 2, repeats=1, warmup=0).best("FFN", "gpu")
    with pytest.raises(ValueError, match="increasing"):
        fl.crossover_length([2, 1], [0.5, 2])
    with pytest.raises(ValueError, match="same length"):
        fl.crossover_length([1, 2, 3], [0.5, 2])


def test_model_summary_ties_the_article_count_the_estimate_and_the_counter_together():
    s = fl.model_summary("BERT-base", 128)
    assert s["forward_flops"] == s["counted_forward"] == 2 * 12 * fl.layer_mults(128, **BASE)["total"]
    assert s["train_estimate"] == s["counted_train"] == 3 * s["forward_flops"]
    assert s["train_estimate_encoder_n"] - s["train_estimate"] == 6 * 128 * (s["params"]["encoder"] - s["matmul_params"])
    assert s["train_estimate_all_n"] > s["train_estimate_encoder_n"]
    assert "counted_train" not in fl.model_summary("tiny", 16, count=False)
    with pytest.raises(ValueError, match="preset='gpt2'"):
        fl.model_summary("gpt2")


def test_achieved_gflops_is_counted_flops_over_fastest_time():
    t = fl.time_layer_sweep([8, 16], hidden=32, heads=2, repeats=2, warmup=0, linear_expands=())
    rate = fl.achieved_gflops(t, 32)
    expected = 2 * 2 * 16 * 32 * 128 / t.group("FFN")[:, 1].min() / 1e9  # FFN at n = 16: 2nHF mults
    assert rate["FFN"][1] == pytest.approx(expected, rel=1e-12)
