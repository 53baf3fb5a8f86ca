"""The vehicle camera's view of the world: textured ground plane plus extruded objects.

Works for any :class:`~cvseq_localizer.geo.camera.CameraModel` (a ``PinholeCamera`` is converted
with ``to_model()``): any image size, ``fx != fy``, an off-centre principal point, the mount's
forward/lateral/height offset and roll/pitch/yaw, and plumb_bob distortion.

Rendering is done for a virtual *upright* pinhole camera at the same optical centre, looking along
the mount's yaw with zero roll and pitch and square pixels (focal ``max(fx, fy)``), in which every
image column is a vertical plane. Per column the height map is sampled along the ray at increasing
depth and the first object that rises above each pixel's ray is found with one ``np.searchsorted``
over running minima of the projected object tops (occlusion without a per-pixel loop). Pixels that
hit nothing see the ground plane (``cv2.remap`` of the ground texture) or the sky. The upright
image is then resampled into the real camera:
- ideal pinhole: one homography ``K_up R_up_cam K^-1`` (exact for a pure rotation; it also absorbs
  ``fx != fy`` and the principal point) through ``cv2.warpPerspective``;
- plumb_bob: a per-pixel map computed once with ``cv2.undistortPoints(pixels, K, D, R=R_up_cam,
  P=K_up)`` iterated to 1e-10 (each *distorted* output pixel -> its undistorted ray -> rotated
  into the upright camera -> upright pixel), applied by ``cv2.remap``. The upright image's
  extent is that of the distorted image border mapped the same way, so a barrel lens is rendered
  at the wider field it needs.
Hand-written because no library available here ray-casts a 2.5D height map; it is vectorised numpy
(``bench/bench_sim.py`` times it: about 5-10 ms for 96 x 320 px on one core).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from cvseq_localizer.geo.camera import R_BODY_OPTICAL, CameraModel, rot_x, rot_y
from cvseq_localizer.sim.camera import PinholeCamera, as_camera_model
from cvseq_localizer.sim.layers import BUILDING, CAR, TREE
from cvseq_localizer.sim.photometric import apply_jitter, sky_and_haze
from cvseq_localizer.sim.world import World

GROUND_LEVELS = 4  # pyramid levels of the ground texture used against aliasing far away
MIN_RAY_Z = 0.05  # the upright camera must see every real pixel at least this far in front
UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-10)


@dataclass(frozen=True)
class _Upright:
    """Precomputed geometry of the upright virtual camera (corner-based pixels)."""

    width: int
    height: int
    cx: float
    cy: float
    f: float
    slope: np.ndarray  # (W,) rightward metres per forward metre of each column's plane
    depth_m: np.ndarray  # (Z,) forward depths sampled along every column
    v_centre: np.ndarray  # (H,) row centres
    z_ground_m: np.ndarray  # (H,) forward depth where each row's ray meets the ground; inf above
    warp: np.ndarray  # 3x3 map from real-camera pixels to upright pixels (OpenCV coords)
    maps: tuple[np.ndarray, np.ndarray] | None  # per-pixel (map_x, map_y) for distorted cameras


def _depth_samples(res_m: float, f_px: float, max_range_m: float) -> np.ndarray:
    """Forward depths: a step of one raster cell near, one image pixel's footprint far away."""
    z, out = 0.3, []
    while z < max_range_m:
        out.append(z)
        z += max(res_m, z / f_px)
    return np.asarray(out)


def _border_pixels(w: int, h: int) -> np.ndarray:
    """``(N, 2)`` points along the image border (OpenCV pixel centres: edges at -0.5, w - 0.5)."""
    u = np.concatenate([np.arange(w + 1), np.full(h + 1, w), np.arange(w + 1), np.zeros(h + 1)])
    v = np.concatenate([np.zeros(w + 1), np.arange(h + 1), np.full(w + 1, h), np.arange(h + 1)])
    return np.stack([u, v], axis=1) - 0.5


def _upright_rays(cam: CameraModel, uv: np.ndarray, r_up_cam: np.ndarray) -> np.ndarray:
    """``(N, 2)`` real pixels -> ``(N, 2)`` normalised ``(x/z, y/z)`` in the upright camera."""
    if cam.distortion_model == 'none':
        xy = (uv - [cam.cx, cam.cy]) / [cam.fx, cam.fy]
    else:
        pts = uv.reshape(-1, 1, 2).astype(np.float64)
        xy = cv2.undistortPoints(pts, cam.K, cam.D, None, None, None, UNDISTORT_CRITERIA)
        xy = xy.reshape(-1, 2)
    up = np.concatenate([xy, np.ones((len(xy), 1))], axis=1) @ r_up_cam.T
    if not np.all(up[:, 2] > MIN_RAY_Z * np.linalg.norm(up, axis=1)):
        raise ValueError(
            'camera field of view is too wide for the upright renderer '
            f'(hfov {cam.hfov_deg:.0f} deg, mount {cam.mount})'
        )
    return up[:, :2] / up[:, 2:3]


def _upright(camera: CameraModel, res_m: float, max_range_m: float) -> _Upright:
    w, h, m = camera.width_px, camera.height_px, camera.mount
    f = max(camera.fx, camera.fy)
    r_up_cam = R_BODY_OPTICAL.T @ rot_y(m.pitch_rad) @ rot_x(m.roll_rad) @ R_BODY_OPTICAL
    xy = _upright_rays(camera, _border_pixels(w, h), r_up_cam)
    x0, x1 = np.floor(xy[:, 0].min() * f) - 1, np.ceil(xy[:, 0].max() * f) + 1
    y0, y1 = np.floor(xy[:, 1].min() * f) - 1, np.ceil(xy[:, 1].max() * f) + 1
    wu, hu, cxu, cyu = int(x1 - x0), int(y1 - y0), -x0, -y0
    k_up = np.array([[f, 0, cxu - 0.5], [0, f, cyu - 0.5], [0, 0, 1]])
    warp = k_up @ r_up_cam @ np.linalg.inv(camera.K)  # a pure shift at zero pitch and roll
    maps = None
    if camera.distortion_model != 'none':
        grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), axis=-1).reshape(-1, 1, 2)
        pts = grid.astype(np.float64)
        uv_up = cv2.undistortPoints(
            pts, camera.K, camera.D, None, r_up_cam, k_up, UNDISTORT_CRITERIA
        ).reshape(h, w, 2)
        maps = (uv_up[..., 0].astype(np.float32), uv_up[..., 1].astype(np.float32))
    v_c = np.arange(hu) + 0.5
    below = v_c > cyu
    z_ground = np.full(hu, np.inf)
    z_ground[below] = f * m.z_m / (v_c[below] - cyu)
    slope = (np.arange(wu) + 0.5 - cxu) / f
    depth = _depth_samples(res_m, f, max_range_m)
    return _Upright(wu, hu, cxu, cyu, f, slope, depth, v_c, z_ground, warp, maps)


def _first_hit(top_v: np.ndarray, v_centre: np.ndarray, height: int) -> np.ndarray:
    """``(H, W)`` index of the first depth sample whose running-min top is at/above each pixel.

    ``top_v`` is ``(W, Z)``: image row of the object top at each depth sample (inf: no object).
    Returns ``Z`` where a pixel's ray hits nothing.
    """
    w, z = top_v.shape
    # float32 keys stay sorted (rounding is monotonic) and resolve ~0.01 px at 330 columns;
    # larger images use float64 keys to keep that resolution.
    dt = np.float32 if w * (height + 10.0) < 2**17 else np.float64
    running = np.minimum.accumulate(np.clip(top_v, -1.0, height + 1.0), axis=1).astype(dt)
    span, off = dt(height + 10.0), dt(height + 5.0)
    cols = np.arange(w, dtype=dt)
    keys = (cols[:, None] * span + (off - running)).ravel()
    # Queries in column-major order are sorted too, which makes searchsorted cache-friendly.
    queries = cols[:, None] * span + (off - v_centre.astype(dt)[None, :])
    idx = np.searchsorted(keys, queries.ravel(), side='left').reshape(queries.shape)
    return (idx - (np.arange(w) * z)[:, None]).T


class GroundRenderer:
    """Renders camera images of a ``World`` for vehicle poses (``render``).

    Args:
        world: the world to look at.
        camera: the camera (a ``PinholeCamera`` is converted with ``to_model()``);
            ``self.camera`` is always the :class:`CameraModel`.
        max_range_m: objects and ground further than this are left to the sky/haze.
    Raises:
        ValueError: the camera is degenerate, cannot see the ground or is too wide to render.
    """

    def __init__(
        self, world: World, camera: CameraModel | PinholeCamera, max_range_m: float = 90.0
    ) -> None:
        camera = as_camera_model(camera)
        camera.validate()
        self.world = world
        self.camera = camera
        self.up = _upright(camera, world.grid.res_m, max_range_m)
        self.max_range_m = max_range_m
        levels = [world.layers.ground_rgb]
        for _ in range(GROUND_LEVELS - 1):
            levels.append(cv2.pyrDown(levels[-1]))
        self._ground_levels = levels
        self._side = world.side_shaded_rgb.reshape(-1, 3)
        self._top = world.layers.top_rgb.reshape(-1, 3)
        self._depth32 = self.up.depth_m.astype(np.float32)
        self._inv_depth = (1.0 / self.up.depth_m).astype(np.float32)
        self._v_centre32 = self.up.v_centre.astype(np.float32)
        self._stretch = np.sqrt(1 + self.up.slope**2).astype(np.float32)  # depth -> distance
        self._flat = {
            'height': world.layers.height_m.ravel(),
            'base': world.layers.base_m.ravel(),
            'cls': world.layers.class_map.ravel(),
        }

    def render(self, xy_enu_m, yaw_rad: float, rng: np.random.Generator | None = None):
        """``height_px x width_px x 3`` uint8 RGB for ``base_link`` at ``xy_enu_m``/``yaw_rad``.

        The camera sits at its mount offset from ``base_link`` (ENU metres, yaw 0 = east, CCW).
        With ``rng`` the image gets random lighting, white balance, vignetting and noise (the
        camera should not look like the orthophoto); without, it is the noise-free rendering.
        """
        up, cam, m = self.up, self.camera, self.camera.mount
        c, s = np.cos(yaw_rad), np.sin(yaw_rad)
        xy_enu_m = (
            float(xy_enu_m[0]) + c * m.x_m - s * m.y_m,
            float(xy_enu_m[1]) + s * m.x_m + c * m.y_m,
        )  # the optical centre
        c, s = np.cos(yaw_rad + m.yaw_rad), np.sin(yaw_rad + m.yaw_rad)
        dir_e, dir_n = c + s * up.slope, s - c * up.slope  # per column, per forward metre
        east = np.float32(xy_enu_m[0]) + (dir_e[:, None] * up.depth_m[None, :]).astype(np.float32)
        north = np.float32(xy_enu_m[1]) + (dir_n[:, None] * up.depth_m[None, :]).astype(np.float32)
        flat = self._flat_index(east, north)
        rgb, dist = self._objects(flat, east, north)
        self._ground(rgb, dist, xy_enu_m, dir_e, dir_n)
        rgb = sky_and_haze(rgb, dist, up.v_centre, up.cy, up.f, rng)
        if up.maps is not None:
            rgb = cv2.remap(rgb, *up.maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        else:
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            size = (cam.width_px, cam.height_px)
            rgb = cv2.warpPerspective(
                rgb, up.warp, size, flags=flags, borderMode=cv2.BORDER_REPLICATE
            )
        return apply_jitter(rgb, rng) if rng is not None else rgb

    def _flat_index(self, east: np.ndarray, north: np.ndarray) -> np.ndarray:
        """Flat raster index of each sample; -1 outside the world."""
        return self.world.grid.enu_to_flat_index(east, north)

    def _objects(self, flat, east, north):
        """Object colours (float32 ``H x W x 3``, NaN where none) and distance per pixel."""
        up, h_cam = self.up, np.float32(self.camera.mount.z_m)
        safe = np.maximum(flat, 0)
        outside = flat < 0
        height = self._flat['height'][safe]
        height[outside] = 0.0
        base = self._flat['base'][safe]
        top_v = up.cy + up.f * (h_cam - height) * self._inv_depth[None, :]
        top_v[height <= 0] = np.inf
        hit = _first_hit(top_v, self._v_centre32, up.height)
        n_z = len(up.depth_m)
        obj_r, obj_c = np.nonzero(hit < n_z)
        k = hit[obj_r, obj_c]
        ray_h = h_cam - (self._v_centre32[obj_r] - up.cy) * self._depth32[k] / up.f
        under = base[obj_c, k] > ray_h  # the ray passes below a tree crown: look further
        if np.any(under):  # search again without crowns, only in the columns that need it
            cols = np.unique(obj_c[under])
            top_solid = np.where(base[cols] > 0, np.float32(np.inf), top_v[cols])
            solid = np.full_like(hit, n_z)
            solid[:, cols] = _first_hit(top_solid, self._v_centre32, up.height)
            k = np.where(under, solid[obj_r, obj_c], k)
            keep = k < n_z
            obj_r, obj_c, k = obj_r[keep], obj_c[keep], k[keep]
        depth = self._depth32[k]
        keep = depth < up.z_ground_m[obj_r]
        obj_r, obj_c, k, depth = obj_r[keep], obj_c[keep], k[keep], depth[keep]
        ray_h = h_cam - (self._v_centre32[obj_r] - up.cy) * depth / up.f
        rgb = np.full((up.height, up.width, 3), np.nan, np.float32)
        wall_s = east[obj_c, k] + north[obj_c, k]
        rgb[obj_r, obj_c] = self._object_colour(safe[obj_c, k], ray_h, wall_s, height[obj_c, k])
        dist = np.full((up.height, up.width), np.inf, np.float32)
        dist[obj_r, obj_c] = depth * self._stretch[obj_c]
        return rgb, dist

    def _object_colour(self, idx, ray_h, wall_s, top_h) -> np.ndarray:
        """``(N, 3)`` facade colour with windows, car glass and crown texture at hit cells."""
        side = self._side[idx].astype(np.float32)
        cls = self._flat['cls'][idx]
        floor_z = np.mod(ray_h, 3.0)
        window = (cls == BUILDING) & (floor_z > 1.0) & (floor_z < 2.2) & (ray_h < top_h - 1.2)
        window &= np.mod(wall_s, 3.0) > 0.9
        side[window] = side[window] * 0.35 + np.array([20, 28, 40], np.float32)
        side[(cls == CAR) & (ray_h > 1.0)] *= 0.3
        tree = cls == TREE
        side[tree] = self._top[idx[tree]] * 0.8
        return side

    def _ground(self, rgb, dist, xy_enu_m, dir_e, dir_n) -> None:
        """Fill pixels without an object and below the horizon with the ground texture."""
        up, grid = self.up, self.world.grid
        rows = np.nonzero(np.isfinite(up.z_ground_m) & (up.z_ground_m < self.max_range_m))[0]
        if rows.size == 0:
            return
        z = up.z_ground_m[rows]
        level = np.clip(
            np.floor(np.log2(np.maximum(z / up.f / grid.res_m, 1.0))), 0, GROUND_LEVELS - 1
        )
        east = xy_enu_m[0] + z[:, None] * dir_e[None, :]
        north = xy_enu_m[1] + z[:, None] * dir_n[None, :]
        u, v = grid.enu_to_px(east, north)
        ground = np.empty(u.shape + (3,), np.float32)
        for lev in np.unique(level).astype(int):
            sel = level == lev
            scale = 0.5**lev
            map_x = (u[sel] * scale - 0.5).astype(np.float32)
            map_y = (v[sel] * scale - 0.5).astype(np.float32)
            tex = cv2.remap(
                self._ground_levels[lev],
                map_x,
                map_y,
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
            ground[sel] = tex
        band = rgb[rows]
        free = np.isnan(band[..., 0])
        band[free] = ground[free]
        rgb[rows] = band
        dist_band = dist[rows]
        dist_band[free] = (z[:, None] * np.sqrt(1 + up.slope[None, :] ** 2))[free]
        dist[rows] = dist_band
