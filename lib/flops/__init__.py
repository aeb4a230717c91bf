"""Where a BERT layer's compute goes: counted, checked against PyTorch, and timed (chapter 2).

Reference code for ``book/02-linear-attention-flops.ipynb``, after Su Jianlin's "Linear Transformers
are probably not the model you are waiting for" (kexue.fm/archives/8610). The article counts
multiplications; a BERT layer at sequence length n costs 4nH^2 + 2nHF + 2n^2 H of them. One job
per module:

- :mod:`.counts`  -- the article's closed forms for one layer and for linear attention (numpy);
- :mod:`.models`  -- whole BERT models: parameters, forward counts, the 6N + 12 L H Q T estimate;
- :mod:`.layer`   -- a BERT-shaped torch layer of explicit matmuls (softmax, linear or fused attention);
- :mod:`.counter` -- FLOPs counted by PyTorch's ``FlopCounterMode``, and the fused kernels it misses;
- :mod:`.timing`  -- stage-by-stage timings of the layer (never asserted);
- :mod:`.figures` -- the chapter's figures and a Markdown table helper.

The package re-exports every public name (``from lib import flops as fl; fl.layer_mults(512)``).
Importing it imports torch, as the single module did; :mod:`.counts` and :mod:`.models` themselves
need only numpy.
"""
from .counts import (attention_mults, ffn_mults, flops_from_mults, layer_mults, layer_mults_linear,
                     linear_attention_mults, linear_speedup, linear_vs_standard_crossover, model_mults,
                     quadratic_dominance_length, sa_ffn_crossover, standard_attention_core_mults)
from .models import (BERT_MAX_POSITIONS, BERT_VOCAB, PRESETS, bert_params, matmul_params, model_summary,
                     training_flops_per_token)
from .layer import (ATTENTION_KINDS, BertLikeLayer, attention_rank_demo, elu_feature_map, linear_attention_core,
                    softmax_attention_core)
from .counter import UncountedFlopsWarning, count_flops, count_model_flops, flop_check
from .timing import (CLOCKS, SOFTMAX_STAGES, STAGE_GROUPS, LayerTimings, achieved_gflops, crossover_length,
                     time_forward, time_layer_sweep, time_stages)
from .figures import (draw_core_times, draw_cost_breakdown, draw_flop_check, draw_linear_vs_standard,
                      draw_time_ratio, draw_time_shares)

__all__ = [
    "ATTENTION_KINDS", "BERT_MAX_POSITIONS", "BERT_VOCAB", "CLOCKS", "PRESETS", "SOFTMAX_STAGES", "STAGE_GROUPS",
    "BertLikeLayer", "LayerTimings", "UncountedFlopsWarning", "achieved_gflops", "attention_mults",
    "attention_rank_demo", "bert_params", "count_flops", "count_model_flops", "crossover_length",
    "draw_core_times", "draw_cost_breakdown", "draw_flop_check", "draw_linear_vs_standard", "draw_time_ratio",
    "draw_time_shares", "elu_feature_map", "ffn_mults", "flop_check", "flops_from_mults", "layer_mults",
    "layer_mults_linear", "linear_attention_core", "linear_attention_mults", "linear_speedup",
    "linear_vs_standard_crossover", "matmul_params", "model_mults", "model_summary",
    "quadratic_dominance_length", "sa_ffn_crossover", "softmax_attention_core", "standard_attention_core_mults",
    "time_forward", "time_layer_sweep", "time_stages", "training_flops_per_token",
]
