"""Full-resolution network versus hourglass: torch's FLOP count, shapes, memory, receptive field."""
from dataclasses import replace

import pytest
import torch

from core import cost

CFG = cost.NetConfig(stages=3, base_width=16, num_classes=6)


@pytest.mark.parametrize("kind", ["full_resolution", "hourglass"])
@pytest.mark.slow
def test_output_is_c_by_h_by_w_and_real_forward_runs(kind):
    model = cost.build(kind, replace(CFG, base_width=4))
    assert model(torch.zeros(1, 3, 32, 48)).shape == (1, 6, 32, 48)  # contract: logits (N, C, H, W)
    costs = cost.layer_costs(model, 32, 48)
    assert costs[-1].out_shape == (6, 32, 48)
    assert [c.name for c in costs] == ["stem", "enc1", "enc2", "enc3", "dec3", "dec2", "dec1", "head"]


@pytest.mark.parametrize("kind", ["full_resolution", "hourglass"])
def test_torch_flop_count_equals_the_formula(kind):
    costs = cost.layer_costs(cost.build(kind, CFG), 64)
    for c in costs:
        assert c.flops == c.flops_formula > 0


def test_same_layers_same_parameters_fewer_flops():
    full = cost.totals(cost.layer_costs(cost.build("full_resolution", CFG), 128))
    hour = cost.totals(cost.layer_costs(cost.build("hourglass", CFG), 128))
    assert full["params"] == hour["params"]
    assert hour["flops"] < full["flops"] / 5
    assert hour["activation_bytes"] < full["activation_bytes"]
    assert hour["receptive_field"] > full["receptive_field"]


def test_full_resolution_by_hand():
    costs = cost.layer_costs(cost.build("full_resolution", CFG), 64)
    enc1 = costs[1]  # 16 -> 32 channels, 3x3, 64x64 output
    assert enc1.flops == 2 * 16 * 9 * 32 * 64 * 64
    assert enc1.activation_bytes == 32 * 64 * 64 * 4
    assert enc1.params == 16 * 32 * 9
    # 3x3 layers with stride 1: the receptive field grows by 2 per layer, 2L + 1 after L layers
    assert [c.receptive_field for c in costs] == [3, 5, 7, 9, 11, 13, 15, 15]


def test_costs_scale_with_the_area():
    for kind in ("full_resolution", "hourglass"):
        curves = cost.cost_curves(CFG, [64, 128])[kind]
        assert curves["flops"][1] == 4 * curves["flops"][0]
        assert curves["activation_bytes"][1] == 4 * curves["activation_bytes"][0]


@pytest.mark.parametrize("stages, sizes", [(3, [64, 128, 256, 384, 512, 768]), (5, [64, 192, 2048]), (2, [20, 40, 60])])
def test_scaled_curves_are_the_counted_ones(stages, sizes):
    cfg = replace(CFG, stages=stages, base_width=8)
    curves = cost.cost_curves(cfg, sizes)
    for kind in ("full_resolution", "hourglass"):
        counted = [cost.totals(cost.layer_costs(cost.build(kind, cfg, device="meta"), s)) for s in sizes]
        assert curves[kind]["flops"] == [c["flops"] for c in counted]
        assert curves[kind]["activation_bytes"] == [c["activation_bytes"] for c in counted]


def test_sides_that_do_not_scale_are_each_counted():
    cfg = replace(CFG, stages=2, base_width=4)  # 40 is not a multiple of 24: no scaling
    curves = cost.cost_curves(cfg, [24, 40])["hourglass"]
    counted = [cost.totals(cost.layer_costs(cost.build("hourglass", cfg, device="meta"), s)) for s in (24, 40)]
    assert curves["flops"] == [c["flops"] for c in counted]


@pytest.mark.parametrize("kind", ["full_resolution", "hourglass"])
def test_the_kept_receptive_field_check_agrees_and_draws_no_random_numbers(kind):
    state = torch.get_rng_state()
    side, traced, measured = cost.receptive_field_check(kind, 3)
    assert torch.equal(state, torch.get_rng_state())
    assert side % 8 == 0 and traced == measured
    assert measured[1] - measured[0] + 1 == (15 if kind == "full_resolution" else 33)  # 2·7 + 1; the hourglass's widest
    assert cost.receptive_field_check(kind, 3) is cost.receptive_field_check(kind, 3)  # kept, not recomputed


def test_huge_networks_cost_no_memory():
    big = cost.NetConfig(stages=5, base_width=128)
    t = cost.totals(cost.layer_costs(cost.build("full_resolution", big, device="meta"), 2048))
    assert t["flops"] > 1e15  # a petaFLOP, counted on shapes alone


@pytest.mark.parametrize("kind, stages", [("full_resolution", 2), ("hourglass", 2), ("hourglass", 3)])
def test_receptive_field_trace_matches_autograd(kind, stages):
    model = cost.build(kind, cost.NetConfig(stages=stages, base_width=1, num_classes=1))
    for position in (40, 41, 42, 43, 44):
        assert cost.receptive_field_at(model, 96, position) == cost.empirical_receptive_field(model, 96, position)


def test_hourglass_receptive_field_depends_on_position():
    costs = cost.layer_costs(cost.build("hourglass", CFG), 64)
    last = costs[-1]
    assert last.receptive_field_min == 25 and last.receptive_field == 33  # nearest upsampling is not shift-invariant
    assert costs[3].jump == 8 and last.jump == 1


def test_unknown_network():
    with pytest.raises(ValueError, match="valid names"):
        cost.build("unet", CFG)
