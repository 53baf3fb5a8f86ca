"""GeoLocNet: the correlation volume finds a known position and heading, forward == step, the
checkpoint round trip, and the loss."""

import math

import cv2
import numpy as np
import pytest
import torch

from cvseq_localizer.model.checkpoint import CheckpointError, load_checkpoint
from cvseq_localizer.model.geo_checkpoint import (
    geo_loss,
    is_geo_checkpoint,
    load_geo_checkpoint,
    save_geo_checkpoint,
)
from cvseq_localizer.model.geo_config import GeoConfig
from cvseq_localizer.model.geo_inputs import normalise_rgb
from cvseq_localizer.model.geometric import GeoLocNet


def _texture(size: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random RGB texture (uint8), features of a few pixels."""
    x = rng.normal(0, 1, (size // 4, size // 4, 3)).astype(np.float32)
    x = cv2.resize(x, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(128 + 60 * x, 0, 255).astype(np.uint8)


def _bev_from_tile(tile, cfg: GeoConfig, v_m, delta_rad):
    """BEV at the prior for a vehicle at ``v_m`` (x east, y south from the NW corner, metres)
    whose true heading is prior + ``delta_rad``: BEV_p(e) = World(v + R(delta) e)."""
    res, n = cfg.bev_res_m, cfg.bev_size
    c = (np.arange(n) + 0.5 - n / 2) * res
    east, north = np.meshgrid(c, -c)
    cs, sn = math.cos(delta_rad), math.sin(delta_rad)
    we, wn = cs * east - sn * north, sn * east + cs * north
    map_x = ((v_m[0] + we) / res - 0.5).astype(np.float32)
    map_y = ((v_m[1] - wn) / res - 0.5).astype(np.float32)
    bev = cv2.remap(tile, map_x, map_y, cv2.INTER_LINEAR)
    dist = np.hypot(east, north)
    # A forward-looking wedge (heading north in the BEV) inside the range limits.
    mask = (dist > cfg.bev_min_range_m) & (dist < cfg.bev_max_range_m) & (north > np.abs(east))
    return bev, mask


def _inputs(bev, mask, cfg):
    m = mask.astype(np.float32)[None]
    return torch.from_numpy(normalise_rgb(bev, cfg) * m)[None], torch.from_numpy(m)[None]


@pytest.mark.parametrize('delta_deg', [-9.0, 0.0, 6.0])
def test_ncc_channel_alone_finds_position_and_heading(delta_deg):
    cfg = GeoConfig.preset('geo_small')
    torch.manual_seed(0)
    net = GeoLocNet(cfg).eval()
    with torch.no_grad():
        net.channel_weight[:-1] = 0.0  # masked NCC on the grayscale channel only
    rng = np.random.default_rng(1)
    tile = _texture(cfg.sat_size, rng)
    v = np.array([37.3, 25.6])
    bev, mask = _bev_from_tile(tile, cfg, v, math.radians(delta_deg))
    x, m = _inputs(bev, mask, cfg)
    sat = torch.from_numpy(normalise_rgb(tile, cfg))[None]
    with torch.no_grad():
        feats = net.encode_satellite(sat)
        fine = net.score_volume(x, m, feats)[0]  # [K, H, W]
    k, idx = divmod(int(fine.argmax()), fine.shape[-1] * fine.shape[-2])
    row, col = divmod(idx, fine.shape[-1])
    res = cfg.feat_res_m
    assert math.hypot((col + 0.5) * res - v[0], (row + 0.5) * res - v[1]) < 1.5
    assert math.degrees(float(net.deltas[k])) == pytest.approx(delta_deg, abs=cfg.heading_step_deg)


def _tiny_inputs(cfg, b=2, t=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    bev = torch.randn(b, t, 3, cfg.bev_size, cfg.bev_size, generator=gen)
    mask = (torch.rand(b, t, 1, cfg.bev_size, cfg.bev_size, generator=gen) > 0.3).float()
    sat = torch.randn(b, 3, cfg.sat_size, cfg.sat_size, generator=gen)
    return bev * mask, mask, sat


def test_forward_equals_step_by_step_with_tam():
    cfg = GeoConfig.preset('geo_tiny')
    torch.manual_seed(0)
    net = GeoLocNet(cfg).eval()
    for p in net.location_head.parameters():  # non-zero heads so the TAM output matters
        torch.nn.init.normal_(p, 0, 0.3)
    bev, mask, sat = _tiny_inputs(cfg)
    with torch.no_grad():
        seq = net(bev, mask, sat)
        feats = net.encode_satellite(sat)
        hidden, logits = None, []
        for i in range(bev.shape[1]):
            out = net.step(bev[:, i], mask[:, i], feats, hidden)
            hidden = out.hidden
            logits.append(out.logits)
            assert torch.allclose(out.heading_prob.sum(-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(seq.logits, torch.stack(logits, 1), atol=1e-4)
    # The state matters: the last frame differs from the same frame without history.
    with torch.no_grad():
        alone = net.step(bev[:, -1], mask[:, -1], feats, None).logits
    assert not torch.allclose(alone, logits[-1], atol=1e-4)


def test_checkpoint_round_trip_and_format(tmp_path):
    cfg = GeoConfig.preset('geo_tiny')
    net = GeoLocNet(cfg)
    with torch.no_grad():
        net.log_temperature.fill_(1.234)
    path = save_geo_checkpoint(net, tmp_path / 'g.pt', {'sat_ground_m': 16.0, 'cams': [1, 2]})
    assert is_geo_checkpoint(path)
    loaded, extra = load_geo_checkpoint(path)
    assert float(loaded.log_temperature.detach()) == pytest.approx(1.234)
    assert extra['cams'] == [1, 2] and loaded.config == cfg
    baseline, _ = load_geo_checkpoint(path, temporal=False)  # the TAM-less baseline view
    assert baseline.temporal is None
    with pytest.raises(CheckpointError):
        load_checkpoint(path)  # the paper-model loader refuses a geo file
    with pytest.raises(ValueError):
        save_geo_checkpoint(net, tmp_path / 'bad.pt', {'x': object()})


def test_loss_is_lower_at_the_truth_and_trains():
    cfg = GeoConfig.preset('geo_tiny', temporal=False)
    torch.manual_seed(0)
    net = GeoLocNet(cfg)
    bev, mask, sat = _tiny_inputs(cfg, b=2, t=2)
    pos = torch.tensor([[[3.2, 4.7], [9.9, 12.1]], [[6.0, 6.0], [1.5, 14.2]]])
    delta = torch.zeros(2, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = None
    for _ in range(15):
        parts = geo_loss(net(bev, mask, sat), pos, delta, net)
        opt.zero_grad()
        parts.total.backward()
        opt.step()
        first = first if first is not None else float(parts.total)
        assert all(math.isfinite(float(x)) for x in parts)
    assert float(parts.total) < first


def test_cached_projector_matches_project_to_bev():
    from cvseq_localizer.geo.camera import CameraModel, CameraMount
    from cvseq_localizer.model.geo_inputs import BevProjector, bev_input

    cfg = GeoConfig.preset('geo_small')
    cam = CameraModel.from_hfov(320, 128, 100.0, CameraMount(z_m=1.4, pitch_rad=0.1))
    img = cv2.resize(_texture(64, np.random.default_rng(3)), (320, 128))
    proj = BevProjector(cam, cfg)
    for yaw in (0.0, 1.1, -2.5):
        a, ma = bev_input(img, cam, cfg, yaw)
        b, mb = proj(img, yaw)
        assert np.mean(ma == mb) > 0.98 and mb.sum() <= ma.sum()
        both = np.broadcast_to((ma > 0) & (mb > 0), a.shape)
        assert np.abs(a - b)[both].mean() < 0.05 * np.abs(a)[both].mean()
