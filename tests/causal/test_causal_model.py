"""The causal FMA-Net++ network: presets, causality (gradients and perturbations), step == forward, the temporal
blending gate, exposure conditioning and the shared training losses."""
from __future__ import annotations

import pytest
import torch

from vs_fmanet.model import build_network, count_parameters
from vs_fmanet.model.causal import CausalFMANetPP, CausalState, build_causal_model
from vs_fmanet.model.causal_blocks import CausalHRBPBlock, TemporalBlendGate
from vs_fmanet.model.causal_config import CAUSAL_PRESETS, get_causal_config
from vs_fmanet.model.registry import NETWORKS, expected_shapes, infer_network_from_state_dict
from vs_fmanet.training.losses import degradation_loss, joint_loss


def _model(preset: str = "causal-tiny", seed: int = 0) -> CausalFMANetPP:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_causal_model(preset, 4).eval()


def _clip(t: int, h: int = 8, w: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, t, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_presets_registered_and_sized_like_the_bidirectional_ones():
    assert set(NETWORKS["fmanetpp-causal"]["presets"]) == set(CAUSAL_PRESETS)
    for base in ("paper", "small", "tiny"):
        for k in (0, 1, 2):
            name = f"causal-{base}" + (f"-k{k}" if k else "")
            cfg = get_causal_config(name)
            assert cfg.lookahead == k and cfg.channels == get_causal_config(f"causal-{base}").channels
    with torch.device("meta"):
        causal = count_parameters(build_network("fmanetpp-causal", "causal-paper", 4))["total"]
        bidirectional = count_parameters(build_network("fmanetpp", "paper", 4))["total"]
    assert 0.9 < causal / bidirectional < 1.05          # same blocks, 2C->C fusion + gate instead of 3C->C fusion
    net = build_network("fmanetpp-causal", "causal-tiny-k1", 2)
    assert net.causal and net.lookahead == 1 and net.temporal_radius == 1 and net.scale == 2
    # a causal state dict is recognised as such, and its keys/shapes differ from the bidirectional model's
    shapes = expected_shapes("fmanetpp-causal", "causal-tiny", 4)
    sd = {k: torch.empty(v) for k, v in shapes.items()}
    assert infer_network_from_state_dict(sd, names=("fmanetpp-causal",)) == ("fmanetpp-causal", "causal-tiny", 4)
    assert shapes != expected_shapes("fmanetpp", "tiny", 4)


def test_unknown_preset_names_the_causal_variant():
    with pytest.raises(ValueError, match=r"has no preset 'small'.*causal-small"):
        build_network("fmanetpp-causal", "small", 4)
    with pytest.raises(ValueError, match="the causal variant of 'small' is 'causal-small'"):
        build_causal_model("small")
    with pytest.raises(ValueError, match="lookahead=-1 must be an integer"):
        get_causal_config("causal-tiny", lookahead=-1)


@pytest.mark.parametrize("preset,k", [("causal-tiny", 0), ("causal-tiny-k1", 1)])
def test_output_gradient_reaches_past_and_lookahead_but_no_later_frame(preset, k):
    """d out_i / d frame_j is exactly zero for j > i + k, and nonzero for every j <= i + k (the recurrent state
    really carries the past, and the look-ahead really is used)."""
    net = _model(preset)
    lr = _clip(6).requires_grad_(True)
    i = 2
    out = net(lr)
    out[:, i].square().sum().backward()
    per_frame = lr.grad.abs().sum(dim=(0, 2, 3, 4))
    assert torch.all(per_frame[i + k + 1:] == 0)
    assert torch.all(per_frame[: i + k + 1] > 0)


def test_changing_later_frames_leaves_earlier_outputs_bit_identical():
    net = _model("causal-tiny-k1")
    lr = _clip(6)
    changed = lr.clone()
    changed[:, 4:] = torch.rand_like(changed[:, 4:])      # frames > i + k for i <= 2
    with torch.no_grad():
        a, b = net(lr), net(changed)
    assert torch.equal(a[:, :3], b[:, :3])
    assert not torch.equal(a[:, 3], b[:, 3])               # frame 3 sees frame 4 through its look-ahead


def test_step_by_step_equals_the_clip_forward_and_state_continues_a_clip():
    net = _model("causal-tiny-k1")
    lr = _clip(5)
    with torch.no_grad():
        whole, end_state = net(lr, return_state=True)
        code = net.code_for(lr)
        state, steps = None, []
        for t in range(5):
            frames = lr[:, [min(4, t), min(4, t + 1)]]
            y, state = net.step(frames, code[:, t], state)
            steps.append(y)
        # a clip cut after frame 2: frames 0 and 1 have their real look-ahead, frame 2 repeats itself instead of 3
        first = net(lr[:, :3])
    torch.testing.assert_close(torch.stack(steps, dim=1), whole, rtol=0, atol=1e-5)
    assert isinstance(end_state, CausalState) and len(end_state.tensors()) == 2 * net.config.blocks
    assert end_state.nbytes == 2 * net.config.blocks * net.config.channels * 8 * 10 * 4
    torch.testing.assert_close(first[:, :2], whole[:, :2], rtol=0, atol=1e-5)
    assert (first[:, 2] - whole[:, 2]).abs().max() > 1e-5


def test_state_continues_across_forward_calls():
    net = _model("causal-tiny")
    lr = _clip(6)
    with torch.no_grad():
        whole = net(lr)
        head, state = net(lr[:, :3], return_state=True)
        tail = net(lr[:, 3:], state=state)
        fresh_tail = net(lr[:, 3:])
    torch.testing.assert_close(torch.cat([head, tail], dim=1), whole, rtol=0, atol=1e-5)
    assert (fresh_tail - tail).abs().max() > 1e-4        # the state carried real information


def test_gate_stays_in_its_range_and_closes_the_history_at_one():
    gate = TemporalBlendGate(12, floor=0.25)
    with torch.no_grad():
        for p in gate.parameters():
            p.mul_(50.0)                                   # saturate the sigmoid both ways
        cur, hist = torch.randn(2, 12, 9, 9) * 10, torch.randn(2, 12, 9, 9) * 10
        w = gate(cur, hist)
    assert w.shape == (2, 1, 9, 9)
    assert float(w.min()) >= 0.25 and float(w.max()) <= 1.0
    assert float(w.min()) < 0.26 and float(w.max()) > 0.99

    cfg = get_causal_config("causal-tiny")
    block = CausalHRBPBlock(cfg, degradation_aware=False).eval()
    feat = torch.rand(1, cfg.channels, 8, 8)
    f = torch.zeros(1, 3 * cfg.flows, 8, 8)
    code = torch.rand(1, cfg.code_dim)
    h1, h2 = torch.rand_like(feat), torch.rand_like(feat)
    with torch.no_grad():
        open_a, _ = block(feat, f, code, h1)
        open_b, _ = block(feat, f, code, h2)
        block.gate.body[-1].bias.fill_(1e4)                # w = 1: only the current frame counts
        shut_a, _ = block(feat, f, code, h1)
        shut_b, _ = block(feat, f, code, h2)
    assert (open_a - open_b).abs().max() > 1e-4
    torch.testing.assert_close(shut_a, shut_b, rtol=0, atol=0)


def test_exposure_conditioning_as_in_the_main_model():
    net = _model("causal-tiny")
    with torch.no_grad():
        for name, p in net.named_parameters():
            if ".etm." in name and not p.any():
                p.copy_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(len(name))))
        lr = _clip(3)
        short = net(lr, torch.full((1, 3), 0.2))
        long = net(lr, torch.full((1, 3), 0.9))
        unknown = net(lr, torch.full((1, 3), float("nan")))
        from_ete = net(lr, code=net.exposure_code.ete(lr[0])[None])
    assert (short - long).abs().max() > 1e-4
    torch.testing.assert_close(unknown, from_ete, rtol=0, atol=1e-6)


def test_training_losses_and_stages_apply_unchanged():
    net = build_causal_model("causal-tiny", 4).train()
    g = torch.Generator().manual_seed(3)
    b, t, h, w = 2, 4, 8, 8
    batch = {"lr": torch.rand(b, t, 3, h, w, generator=g), "gt": torch.rand(b, t, 3, 4 * h, 4 * w, generator=g),
             "flow_fwd": torch.randn(b, t, 2, h, w, generator=g), "flow_bwd": torch.randn(b, t, 2, h, w, generator=g)}
    exposure = torch.tensor([[0.5, float("nan"), 0.25, 1.0]] * b)
    loss_d, logs_d = degradation_loss(net, batch, exposure)
    loss_j, logs_j = joint_loss(net, batch, exposure)
    assert torch.isfinite(loss_d) and torch.isfinite(loss_j) and {"recon", "warp", "flow", "l1"} <= set(logs_j)
    loss_j.backward()
    gate_grad = net.net_r.blocks[0].gate.body[0].weight.grad
    assert gate_grad is not None and gate_grad.abs().sum() > 0
