"""Ground-truth flow: exact for known motion, and it warps frame t+1 onto frame t outside occlusions."""
import numpy as np
import torch

from vs_fmanet.data.clip import render_clip
from vs_fmanet.data.exposure_schedule import fixed_level
from vs_fmanet.data.flow import warp_backward
from vs_fmanet.data.pool import ImagePool
from vs_fmanet.data.scene import sample_scene
from vs_fmanet.data.sources import catalogue


def test_translation_flow_is_exact_with_out_of_view_occlusion(make_scene, rng):
    tex = rng.integers(0, 256, size=(64, 96, 3), dtype=np.uint8)
    spec = make_scene(tex, (16, 32), frames=3, vx=3.0, vy=-2.0)   # image moves by (-3, +2) px per frame
    out = render_clip(spec, fixed_level(1, 3), scales=(1,), flow_step=1)
    fwd, bwd = out["flow_fwd"], out["flow_bwd"]
    assert fwd.shape == (3, 2, 16, 32) and out["occ_fwd"].shape == (3, 1, 16, 32)
    torch.testing.assert_close(fwd[:2, 0], torch.full((2, 16, 32), -3.0), atol=1e-4, rtol=0)
    torch.testing.assert_close(fwd[:2, 1], torch.full((2, 16, 32), 2.0), atol=1e-4, rtol=0)
    torch.testing.assert_close(bwd[1:, 0], torch.full((2, 16, 32), 3.0), atol=1e-4, rtol=0)
    assert float(fwd[2].abs().max()) == 0 and float(bwd[0].abs().max()) == 0   # replicated sequence ends
    occ = out["occ_fwd"][0, 0]
    # pixels whose content leaves the view in the next frame: x < 2.5 (moves left by 3) or y > 13.5 (down by 2)
    want = torch.zeros(16, 32)
    want[:, :3] = 1
    want[14:, :] = 1
    assert torch.equal(occ, want)
    # the LR grid (step 4) carries the same motion in LR pixels
    lr = render_clip(spec, fixed_level(1, 3), scales=(4,), flow_step=4)
    torch.testing.assert_close(lr["flow_fwd"][0, 0], torch.full((4, 8), -0.75), atol=1e-5, rtol=0)


def _masked_mae(a, b, valid):
    return float(((a - b).abs() * valid).sum() / (valid.sum() * a.shape[1]))


def test_flow_warps_next_frame_onto_current_with_layers():
    pool = ImagePool([i for i in catalogue(sources=("skimage",)) if i.split == "train"])
    spec = sample_scene(np.random.default_rng(7), pool, size=(96, 128), frames=4, layers=(3, 3),
                        camera_speed=6.0, max_speed=8.0, min_speed=3.0, static_probability=0.0,
                        text_probability=0.0)
    out = render_clip(spec, fixed_level(1, 4), scales=(4,), flow_step=1)
    gt = out["gt"]
    occ = out["occ_fwd"][:-1]
    valid = 1.0 - occ
    assert 0.01 < float(occ.mean()) < 0.6           # layers and borders really occlude something
    warped = warp_backward(gt[1:], out["flow_fwd"][:-1])
    err = _masked_mae(warped, gt[:-1], valid)
    baseline = _masked_mae(gt[1:], gt[:-1], valid)
    assert err < 0.02 and err < 0.25 * baseline, (err, baseline)
    # backward flow reconstructs frame t from frame t-1 just as well
    vb = 1.0 - out["occ_bwd"][1:]
    err_b = _masked_mae(warp_backward(gt[:-1], out["flow_bwd"][1:]), gt[1:], vb)
    assert err_b < 0.02, err_b
    # and LR flows (LR pixels) warp the sharp LR frames
    lr_out = render_clip(spec, fixed_level(1, 4), scales=(4,), flow_step=4)
    lrs = lr_out["lr_sharp_x4"]
    v_lr = 1.0 - lr_out["occ_fwd"][:-1]
    err_lr = _masked_mae(warp_backward(lrs[1:], lr_out["flow_fwd"][:-1]), lrs[:-1], v_lr)
    base_lr = _masked_mae(lrs[1:], lrs[:-1], v_lr)
    assert err_lr < 0.5 * base_lr, (err_lr, base_lr)
    # LR flow = HR flow at the LR pixel centres (HR coordinate 4p + 1.5) divided by 4
    hr_at_centres = out["flow_fwd"][:-1, :, 1::4, 1::4] / 4   # HR pixel 4p+1, next to the centre
    close = (lr_out["flow_fwd"][:-1] - hr_at_centres).abs().amax(dim=1, keepdim=True) < 0.1
    assert float((close.float() * v_lr).sum() / v_lr.sum()) > 0.95
