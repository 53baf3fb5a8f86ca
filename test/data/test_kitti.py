"""KITTI-CVL loader: OXTS parsing, the paper's split and labels on tiny on-disk KITTI drives."""

import calendar
from types import SimpleNamespace

import numpy as np
import pytest
from fixtures import (
    expected_tile_px,
    straight_drive,
    write_kitti_drive,
    write_kitti_sat_maps,
)

from cvseq_localizer.data.kitti import KittiCvlDataset, read_drive
from cvseq_localizer.data.kitti_sat import TileServiceSatProvider
from cvseq_localizer.data.kitti_split import split_sequences, subsample_by_distance
from cvseq_localizer.data.oxts import parse_oxts_line, read_oxts_file, read_timestamps_ns
from cvseq_localizer.data.tile_ops import center_crop_geo, crop_geo
from cvseq_localizer.geo import GeoImage

# A line in the KITTI raw OXTS format (30 fields; the last five are integers).
REAL_LINE = (
    '49.015003823272 8.4342971002335 116.43032836914 0.035752 0.00903 -1.1812358939784 '
    '-2.0634254322426 -6.5524167137245 6.8672224064032 0.11862813353622 -0.045008584880213 '
    '-0.22015859453434 0.26735064345426 9.8028779637158 -0.19373012304525 0.2963389043427 '
    '9.7991213962434 0.015813599669486 -0.0080349651706371 -0.018136736339071 '
    '0.016240130458622 -0.0081298398094487 -0.01789349079919 0.69325318542995 0.18 4 10 4 4 0'
)
# Small satellite configuration for fast tests: 128 px maps at zoom 15 (~3.1 m/px), crop 64,
# output 32 px.
SMALL = dict(sat_zoom=15, sat_static_scale=1.0, crop_px=64, sat_size=32)


def test_parse_oxts_real_line():
    p = parse_oxts_line(REAL_LINE)
    assert (p.lat_deg, p.lon_deg, p.alt_m) == (49.015003823272, 8.4342971002335, 116.43032836914)
    assert (p.roll_rad, p.pitch_rad, p.yaw_rad) == (0.035752, 0.00903, -1.1812358939784)
    assert (p.vn_mps, p.ve_mps) == (-2.0634254322426, -6.5524167137245)
    assert (p.pos_accuracy_m, p.numsats) == (0.69325318542995, 10)


def test_oxts_errors_name_the_file(tmp_path):
    path = tmp_path / '0000000003.txt'
    path.write_text(REAL_LINE.rsplit(' ', 1)[0] + '\n')
    with pytest.raises(ValueError, match='0000000003.txt: OXTS line has 29 fields'):
        read_oxts_file(path)
    path.write_text(REAL_LINE.replace('116.43032836914', 'nan?'))
    with pytest.raises(ValueError, match='0000000003.txt.*non-numeric'):
        read_oxts_file(path)
    with pytest.raises(FileNotFoundError, match='0000000009.txt'):
        read_oxts_file(tmp_path / '0000000009.txt')


def test_timestamps_ns(tmp_path):
    path = tmp_path / 'timestamps.txt'
    path.write_text('2011-09-26 13:02:25.964389445\n2011-09-26 13:02:26.064398000\n')
    base = calendar.timegm((2011, 9, 26, 13, 2, 25, 0, 0, 0)) * 10**9
    assert read_timestamps_ns(path).tolist() == [base + 964389445, base + 1064398000]
    path.write_text('yesterday\n')
    with pytest.raises(ValueError, match='timestamps.txt:1'):
        read_timestamps_ns(path)


def test_subsample_by_distance_hand():
    d = np.array([0.0, 3.0, 7.9, 8.1, 12.0, 16.0, 16.2, 30.0])
    # Kept: 0 (0 m), 3 (8.1 m), 6 (16.2 >= 8.1 + 8; 16.0 is short by 0.1), 7 (30 m).
    assert subsample_by_distance(d, 8.0).tolist() == [0, 3, 6, 7]


def test_split_sequences_hand():
    xy = np.stack([np.arange(17) * 9.0, np.zeros(17)], axis=-1)  # 0..144 m, 9 m apart
    seqs = split_sequences(xy, 50.0, 6)
    # [0..6] (54 m > 50), then from the midpoint 3: [3..9], [6..12], [9..15]; [12..16] reaches
    # the end with 5 frames and is dropped.
    assert [s.tolist() for s in seqs] == [list(range(a, a + 7)) for a in (0, 3, 6, 9)]
    assert len(split_sequences(xy, 50.0, 5)) == 5


def test_split_uses_straight_line_distance():
    # An out-and-back path: 56 m travelled but never more than 24 m from the start.
    xy = np.array([[0, 0], [8, 0], [16, 0], [24, 0], [24, 8], [16, 8], [8, 8], [0, 8]], float)
    assert [s.tolist() for s in split_sequences(xy, 50.0, 6)] == [list(range(8))]


def _small_dataset(tmp_path, n=100, spacing=1.5, **kw):
    drive = write_kitti_drive(tmp_path / 'raw', straight_drive(n, spacing))
    write_kitti_sat_maps(tmp_path / 'sat', drive, 128)
    return KittiCvlDataset(tmp_path / 'raw', tmp_path / 'sat', **SMALL, **kw), drive


def test_split_on_straight_drive(tmp_path):
    # 100 frames 1.5 m apart: a kept frame every 6 (9 m), windows as in test_split_sequences_hand.
    ds, _ = _small_dataset(tmp_path)
    assert len(ds) == 4
    for i, (seq, first) in enumerate(zip(ds.sequences, (0, 18, 36, 54))):
        assert seq.frame_idx.tolist() == list(range(first, first + 37, 6))
        assert seq.mid_idx == first + 18
        sample = ds[i]
        assert [int(g[0, 0, 0]) for g in sample.ground] == seq.frame_idx.tolist()
        assert sample.name == f'kitti/2011_09_26_drive_0001_sync/{first:010d}'


def test_labels_match_independent_web_mercator(tmp_path):
    ds, drive = _small_dataset(tmp_path)
    latlon = read_drive(drive).latlon_deg()
    for i, seq in enumerate(ds.sequences):
        sample = ds[i]
        # Map centred at the midpoint frame, zoom 15, 128 px -> centre 64 px -> 32 px.
        px = expected_tile_px(latlon[seq.frame_idx], latlon[seq.mid_idx], 15, 64) * 32 / 64
        np.testing.assert_allclose(sample.uv_px, px, atol=1e-5)
        np.testing.assert_allclose(sample.uv_px[3], [16.0, 16.0], atol=1e-6)  # the midpoint
        # 9 m between kept frames along a 30 deg heading.
        step_px = np.hypot(*np.diff(sample.uv_px, axis=0).T)
        np.testing.assert_allclose(step_px * sample.metres_per_px, 9.0, rtol=4e-3)


def test_paper_sizes(tmp_path):
    # 40 frames 1.5 m apart: kept 0, 6, .., 36 (0..54 m) -> one 7-frame sequence, tile at 18.
    drive = write_kitti_drive(tmp_path / 'raw', straight_drive(40, 1.5), image_hw=(375, 1242))
    write_kitti_sat_maps(tmp_path / 'sat', drive, 1280)
    ds = KittiCvlDataset(tmp_path / 'raw', tmp_path / 'sat', max_frames=6, ground_width=480)
    sample = ds[0]
    assert sample.sat.shape == (256, 256, 3) and sample.ground.shape == (6, 145, 480, 3)
    # Hand: 156543.034 * cos(49 deg) / 2**18 / 2 (scale 2) = 0.19589 m/px, x 640 / 256 = 0.4897.
    assert sample.metres_per_px == pytest.approx(0.4897, rel=4e-3)
    np.testing.assert_allclose(sample.uv_px[3], [128.0, 128.0], atol=1e-6)


def test_crop_geo_keeps_georeference():
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    geo = GeoImage.centered(image, 49.0, 8.4, 18, (0.5, 0.5))
    sub = crop_geo(geo, 2, 3, 4, 4)
    np.testing.assert_array_equal(sub.image, image[3:7, 2:6])
    np.testing.assert_allclose(sub.pixel_to_latlon(0, 0), geo.pixel_to_latlon(2, 3), rtol=1e-13)
    np.testing.assert_allclose(sub.pixel_to_latlon(4, 4), geo.pixel_to_latlon(6, 7), rtol=1e-13)
    centre = center_crop_geo(geo, 4)
    np.testing.assert_allclose(centre.center_latlon, (49.0, 8.4), atol=1e-12)
    with pytest.raises(ValueError, match='exceeds'):
        crop_geo(geo, 6, 0, 4, 4)


def test_missing_files_are_named(tmp_path):
    drive = write_kitti_drive(tmp_path / 'raw', straight_drive(60, 1.5))
    write_kitti_sat_maps(tmp_path / 'sat', drive, 128)
    (tmp_path / 'sat' / '2011_09_26' / drive.name / '0000000018.png').unlink()
    ds = KittiCvlDataset(tmp_path / 'raw', tmp_path / 'sat', **SMALL)
    with pytest.raises(FileNotFoundError, match='0000000018.png'):
        ds[0]
    (drive / 'oxts' / 'data' / '0000000007.txt').unlink()
    with pytest.raises(FileNotFoundError, match='oxts/data/0000000007.txt'):
        KittiCvlDataset(tmp_path / 'raw', tmp_path / 'sat', **SMALL)


def test_timestamp_count_mismatch_named(tmp_path):
    drive = write_kitti_drive(tmp_path / 'raw', straight_drive(10, 1.5))
    stamps = drive / 'image_02' / 'timestamps.txt'
    stamps.write_text('\n'.join(stamps.read_text().splitlines()[:9]))
    with pytest.raises(ValueError, match='timestamps.txt: 9 timestamps for 10 images'):
        read_drive(drive)


def test_drive_selection(tmp_path):
    write_kitti_drive(tmp_path / 'raw', straight_drive(60, 1.5), drive_no=1)
    write_kitti_drive(tmp_path / 'raw', straight_drive(100, 1.5), drive_no=2)
    sat = lambda lat, lon: GeoImage.centered(np.zeros((64, 64, 3), np.uint8), lat, lon, 15)
    ds = KittiCvlDataset(tmp_path / 'raw', sat_provider=sat, drives=['2011_09_26_drive_0002_sync'])
    assert len(ds) == 4
    # Drive 1 keeps 10 frames (0..81 m): [0..6], [3..9]; [6..9] has 4 frames and is dropped.
    both = KittiCvlDataset(tmp_path / 'raw', sat_provider=sat, crop_px=None)
    assert len(both) == 2 + 4
    sample = both[0]  # the provider's 64 px tile at the midpoint, resized to 256
    assert sample.sat.shape == (256, 256, 3)
    np.testing.assert_allclose(sample.uv_px[3], [128.0, 128.0], atol=1e-6)
    with pytest.raises(FileNotFoundError, match='drive_0003'):
        KittiCvlDataset(tmp_path / 'raw', sat_provider=sat, drives=['2011_09_26_drive_0003_sync'])


class _Service:
    """Answers like SatelliteTileService.covering and records the calls."""

    def __init__(self, geo):
        self.geo, self.calls = geo, []

    def covering(self, lat_deg, lon_deg, deadline_s=None):
        self.calls.append((lat_deg, lon_deg, deadline_s))
        reason = '' if self.geo is not None else 'source timed out'
        return SimpleNamespace(geo=self.geo, reason=reason)


def test_tile_service_provider(tmp_path):
    tile = GeoImage.centered(np.zeros((256, 256, 3), np.uint8), 49.0, 8.4, 17)
    service = _Service(tile)
    assert TileServiceSatProvider(service, deadline_s=0.5)(49.0001, 8.4002) is tile
    assert service.calls == [(49.0001, 8.4002, 0.5)]
    with pytest.raises(RuntimeError, match='source timed out'):
        TileServiceSatProvider(_Service(None))(49.0, 8.4)
