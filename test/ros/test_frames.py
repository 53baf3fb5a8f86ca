"""Lever arm, datum and camera conversions (pure: no DDS)."""

import math

import numpy as np
import pytest
from pyproj import Transformer

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.geo.lever_arm import antenna_to_base, lever_offset_enu_m
from cvseq_localizer.geo.local_frame import LocalFrame
from cvseq_localizer.pipeline import build_localizer
from cvseq_localizer.ros import conversions as conv
from cvseq_localizer.ros.inputs import CameraTracker, apply_lever_arm
from cvseq_localizer.ros.msgtypes import rosbags_types
from cvseq_localizer.ros.params import settings_from_values
from cvseq_localizer.sim.camera import CAMERAS
from cvseq_localizer.tools.sim_camera_msgs import camera_info_msg, tf_static_msg
from cvseq_localizer.types import GnssFix

LAT, LON, ALT = 49.0112, 8.4165, 115.0


@pytest.mark.parametrize('yaw_deg', [0.0, 90.0, -135.0, 33.0])
@pytest.mark.parametrize('lever', [(1.0, 0.0, 0.0), (0.4, -0.7, 1.3), (-1.8, 0.25, 0.9)])
def test_lever_arm_moves_the_fix_to_base_link(lever, yaw_deg):
    yaw = math.radians(yaw_deg)
    lat, lon, alt = antenna_to_base(LAT, LON, ALT, np.array(lever), yaw)
    # Exact check in the tangent frame at the antenna: base + R(yaw) lever = antenna.
    e, n, _ = LocalFrame(LAT, LON, ALT).to_enu(lat, lon, alt)
    c, s = math.cos(yaw), math.sin(yaw)
    expected = -np.array([c * lever[0] - s * lever[1], s * lever[0] + c * lever[1]])
    np.testing.assert_allclose([float(e), float(n)], expected, atol=1e-6)
    assert alt == pytest.approx(ALT - lever[2])
    np.testing.assert_allclose(lever_offset_enu_m(np.array(lever), yaw), -expected, atol=1e-12)


def test_lever_arm_needs_a_heading_unless_vertical_or_zero():
    fix = GnssFix(1, LAT, LON, ALT)
    assert apply_lever_arm(fix, np.zeros(3), None) is fix
    assert apply_lever_arm(fix, np.array([0.0, 0.0, 1.5]), None).alt_m == pytest.approx(ALT - 1.5)
    with pytest.raises(ValueError, match='heading'):
        apply_lever_arm(fix, np.array([1.0, 0.0, 0.0]), None)


def _geographiclib_local_cartesian(lat0, lon0, h0, lat, lon, h):
    """ENU of GeographicLib's LocalCartesian (navsat_transform's use_local_cartesian): ECEF
    (pyproj EPSG:4979 -> 4978) minus the origin, rotated into east/north/up at the origin."""
    to_ecef = Transformer.from_crs('EPSG:4979', 'EPSG:4978', always_xy=True)
    p = np.array(to_ecef.transform(lon, lat, h)) - np.array(to_ecef.transform(lon0, lat0, h0))
    phi, lam = math.radians(lat0), math.radians(lon0)
    rot = np.array([
        [-math.sin(lam), math.cos(lam), 0.0],
        [-math.sin(phi) * math.cos(lam), -math.sin(phi) * math.sin(lam), math.cos(phi)],
        [math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)],
    ])  # fmt: skip
    return rot @ p


def test_datum_parameters_give_navsat_transform_local_cartesian_xy():
    values = {'use_fixed_datum': True, 'datum_lat_deg': LAT, 'datum_lon_deg': LON,
              'allow_gnss_only': True, 'use_network': False, 'model_path': '/none'}  # fmt: skip
    localizer = build_localizer(settings_from_values(values).pipeline)
    try:
        assert localizer.frame is not None  # fixed at start: the same every run
        for dlat, dlon in [(0.0, 0.0), (0.003, -0.002), (-0.02, 0.03)]:
            lat, lon = LAT + dlat, LON + dlon
            e, n, _ = localizer.frame.to_enu(lat, lon, 0.0)
            ref = _geographiclib_local_cartesian(LAT, LON, 0.0, lat, lon, 0.0)
            np.testing.assert_allclose([float(e), float(n)], ref[:2], atol=1e-6)
    finally:
        localizer.close()


@pytest.mark.parametrize('name', ['wide', 'tele', 'default'])
def test_camera_info_and_tf_give_the_simulated_camera(name):
    types, camera = rosbags_types(), CAMERAS[name]
    info = camera_info_msg(camera, 5, 'camera_optical', types)
    tf = tf_static_msg(camera, 5, 'base_link', 'camera_optical', types).transforms[0]
    mount = conv.transform_to_mount(tf.transform)
    got = conv.camera_info_to_model(info, mount)
    assert got.distortion_model == camera.distortion_model
    np.testing.assert_allclose(got.K, camera.K, atol=1e-12)
    np.testing.assert_allclose(got.D, camera.D, atol=1e-12)
    assert (got.width_px, got.height_px) == (camera.width_px, camera.height_px)
    for field in ('x_m', 'y_m', 'z_m', 'roll_rad', 'pitch_rad', 'yaw_rad'):
        assert getattr(got.mount, field) == pytest.approx(getattr(camera.mount, field), abs=1e-9)


def test_bad_camera_info_is_refused_with_a_reason():
    types, camera = rosbags_types(), CAMERAS['wide']
    info = camera_info_msg(camera, 5, 'cam', types)
    info.k = np.zeros(9)
    with pytest.raises(conv.ConversionError, match='degenerate') as err:
        conv.camera_info_to_model(info, camera.mount)
    assert err.value.kind == 'camera'
    info = camera_info_msg(camera, 5, 'cam', types)
    info.distortion_model = 'equidistant'
    with pytest.raises(conv.ConversionError, match='equidistant'):
        conv.camera_info_to_model(info, camera.mount)


@pytest.mark.parametrize(('policy', 'allowed', 'refused'),
                         [('run', True, False), ('gnss_only', False, False),
                          ('refuse', False, True)])  # fmt: skip
def test_camera_unlike_the_training_camera_follows_the_policy(policy, allowed, refused):
    types = rosbags_types()
    tracker = CameraTracker(CAMERAS['default'], policy)
    warning = tracker.update(camera_info_msg(CAMERAS['wide'], 1, 'c', types),
                             CAMERAS['wide'].mount, 'tf')  # fmt: skip
    assert 'horizontal FOV' in warning and policy in warning
    assert tracker.update(camera_info_msg(CAMERAS['wide'], 2, 'c', types),
                          CAMERAS['wide'].mount, 'tf') is None  # once per change  # fmt: skip
    assert (tracker.network_allowed, tracker.refused) == (allowed, refused)
    status = tracker.status('node')
    assert (
        status.level == (2 if refused else 1) and 'horizontal FOV' in status.values['differences']
    )
    same = CameraTracker(CAMERAS['default'], policy)
    assert same.update(camera_info_msg(CAMERAS['default'], 1, 'c', types),
                       CAMERAS['default'].mount, 'tf') is None  # fmt: skip
    assert same.network_allowed and same.status('node').level == 0


def test_frames_of_another_size_are_counted_and_get_scaled_intrinsics():
    tracker = CameraTracker(None, 'gnss_only')
    wide = CAMERAS['wide']
    tracker.update(camera_info_msg(wide, 1, 'c', rosbags_types()), wide.mount, 'parameters')
    cam, resized = tracker.camera_for(320, 240)
    assert resized and tracker.size_mismatches == 1
    assert isinstance(cam, CameraModel) and cam.fx == pytest.approx(wide.fx / 2)
    assert tracker.camera_for(640, 480) == (tracker.camera, False)
    assert tracker.status('n').level == 1
