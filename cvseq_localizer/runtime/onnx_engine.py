"""``OrtEngine``: runs an ONNX export (``runtime/export.py``) with ONNX Runtime.

Works with the ``onnxruntime`` (CPU) and ``onnxruntime-gpu`` packages. Execution providers are
preferred in the order TensorRT, CUDA, CPU among those requested and available; a requested but
absent provider falls back with a logged reason. On a GPU provider the satellite tokens and the
hidden state stay on the device between steps (I/O binding with ``OrtValue``); on the CPU they
are plain numpy arrays.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import onnxruntime as ort

from cvseq_localizer.model.grid_shift import hidden_grid_n, shift_slices
from cvseq_localizer.runtime.engine import EngineOutput, training_facts
from cvseq_localizer.runtime.export import (
    STEP_OUTPUTS,
    ExportFormatError,
    config_from_metadata,
    read_metadata,
    sha256_file,
)
from cvseq_localizer.runtime.preprocess import preprocess_ground, preprocess_satellite, softmax

log = logging.getLogger(__name__)

TENSORRT, CUDA, CPU = 'TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider'
PREFERENCE = (TENSORRT, CUDA, CPU)  # fastest first when several are available
GPU_PROVIDERS = (TENSORRT, CUDA)
ALIASES = {'tensorrt': TENSORRT, 'trt': TENSORRT, 'cuda': CUDA, 'cpu': CPU}


class OrtSatFeatures(NamedTuple):
    """Encoded satellite tile: ``tokens [1, N^2, D]`` float32 (numpy, or OrtValue on a GPU)."""

    tokens: Any


class OrtHidden(NamedTuple):
    """Hidden state: ``state [1, N^2, D]`` float32 and ``valid [1, N^2]`` bool (numpy arrays,
    or OrtValues on the GPU)."""

    state: Any
    valid: Any

    def numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """``(state, valid)`` as host numpy arrays (a device-to-host copy on the GPU)."""
        return _to_numpy(self.state), _to_numpy(self.valid)


def _to_numpy(value: Any) -> np.ndarray:
    return value.numpy() if isinstance(value, ort.OrtValue) else np.asarray(value)


def select_providers(
    requested: Sequence[str] | None = None,
    device: str = 'cpu',
    available: Sequence[str] | None = None,
) -> list[str]:
    """Execution providers to use, fastest first, always ending with the CPU provider.

    ``requested``: provider names or aliases ('tensorrt', 'cuda', 'cpu'); None means
    TensorRT + CUDA + CPU for ``device='cuda[:N]'`` and CPU alone for ``device='cpu'``.
    Requested providers missing from ``available`` (default:
    ``onnxruntime.get_available_providers()``) are dropped with a logged reason.
    """
    available = list(ort.get_available_providers() if available is None else available)
    if requested is None:
        wanted = list(PREFERENCE if device.startswith('cuda') else (CPU,))
    else:
        wanted = [ALIASES.get(p.lower(), p) for p in requested]
    unknown = [p for p in wanted if p not in PREFERENCE]
    if unknown:
        raise ValueError(f'unsupported ONNX Runtime provider(s) {unknown}; use {PREFERENCE}')
    chosen = [p for p in PREFERENCE if p in wanted and p in available]
    missing = [p for p in wanted if p not in available]
    if missing:
        gpu_left = any(p in GPU_PROVIDERS for p in chosen)
        level = logging.INFO if requested is None and gpu_left else logging.WARNING
        log.log(
            level,
            'ONNX Runtime provider(s) %s requested but not available in this onnxruntime '
            '(available: %s; GPU providers need the onnxruntime-gpu package and CUDA/TensorRT '
            'libraries); falling back to %s',
            missing,
            available,
            [p for p in chosen if p != CPU] + [CPU],
        )
    if CPU not in chosen:
        chosen.append(CPU)
    return chosen


def session_options(intra_op_threads: int = 2, spinning: bool = False) -> ort.SessionOptions:
    """Sequential execution, ``intra_op_threads`` threads, graph optimisation level ALL.

    ``spinning=False`` lets idle pool threads sleep instead of busy-waiting: with the node, the
    filter and other processes sharing 2 cores, the paper step ran ~25 % faster that way
    (0.77 s vs 1.03 s median, load average ~4); spinning only pays on an otherwise idle CPU.
    """
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(intra_op_threads)
    so.add_session_config_entry('session.intra_op.allow_spinning', '1' if spinning else '0')
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return so


def shift_hidden_np(
    state: np.ndarray, valid: np.ndarray, d_row: int, d_col: int
) -> tuple[np.ndarray, np.ndarray]:
    """numpy twin of ``model.state.shift_hidden``: ``state [B, N^2, D]``, ``valid [B, N^2]``.

    Old cell ``(r, c)`` becomes ``(r - d_row, c - d_col)``; entering cells are zero/invalid.
    """
    n = hidden_grid_n(state.shape, valid.shape)
    slices = shift_slices(d_row, d_col, n)
    b, n2, dim = state.shape
    new_state = np.zeros((b, n, n, dim), state.dtype)
    new_valid = np.zeros((b, n, n), valid.dtype)
    if slices is not None:
        (src_r, src_c), (dst_r, dst_c) = slices
        new_state[:, dst_r, dst_c] = state.reshape(b, n, n, dim)[:, src_r, src_c]
        new_valid[:, dst_r, dst_c] = valid.reshape(b, n, n)[:, src_r, src_c]
    return new_state.reshape(b, n2, dim), new_valid.reshape(b, n2)


def _device_id(device: str) -> int:
    return int(device.split(':')[1]) if ':' in device else 0


class OrtEngine:
    """The :class:`~cvseq_localizer.runtime.engine.InferenceEngine` for ONNX Runtime.

    Args:
        export_dir: an export directory (``cvseq-export``) or its ``metadata.json``.
        providers: provider names/aliases, or None to choose from ``device``.
        device: 'cpu' or 'cuda[:N]' (GPU providers and the device id for I/O binding).
        precision: 'fp32'; 'fp16' enables TensorRT's fp16 mode (ignored, logged, elsewhere).
        intra_op_threads: ONNX Runtime intra-op threads.
        spinning: let idle ONNX Runtime threads busy-wait (only on an otherwise idle CPU).
        verify: check each graph file against the SHA-256 recorded in the metadata.
    """

    name = 'onnx'
    needs_camera = False  # the paper's perspective-input network

    def __init__(
        self,
        export_dir: str | os.PathLike,
        providers: Sequence[str] | None = None,
        device: str = 'cpu',
        precision: str = 'fp32',
        intra_op_threads: int = 2,
        verify: bool = True,
        spinning: bool = False,
    ) -> None:
        self.export_dir, self.export_info = read_metadata(export_dir)
        where = str(self.export_dir)
        self.config = config_from_metadata(self.export_info, where)
        self.metadata = dict(self.export_info.get('extra') or {})
        self.grid_n = int(self.config.grid_size)
        self.temporal = bool(self.config.temporal)
        self.sat_size = int(self.config.sat_size)
        self.offset_sigma_m, self.sat_ground_m = training_facts(self.metadata)
        norm = self.export_info.get('normalisation') or {}
        self._mean = tuple(norm.get('mean', self.config.mean))
        self._std = tuple(norm.get('std', self.config.std))
        self.providers = select_providers(providers, device)
        options = self._provider_options(device, precision)
        opts = session_options(intra_op_threads, spinning)
        self._sat = self._load('satellite', opts, options, verify)
        self._step = self._load('step', opts, options, verify)
        # Without TAM an exporter may drop the unused hidden-state inputs.
        self._step_inputs = {i.name for i in self._step.get_inputs()}
        self.providers = self._step.get_providers()
        on_gpu = self.providers[0] in GPU_PROVIDERS
        self._gpu = ('cuda', _device_id(device)) if on_gpu else None
        log.info('OrtEngine %s on %s', self.export_dir, self.providers)

    def _provider_options(self, device: str, precision: str) -> list[dict[str, Any]]:
        if precision not in ('fp32', 'fp16'):
            raise ValueError(f'precision {precision!r} must be fp32 or fp16 for ONNX Runtime')
        gpu = {'device_id': _device_id(device)}
        if precision == 'fp16' and self.providers[0] != TENSORRT:
            log.warning('precision fp16 needs the TensorRT provider; running the fp32 graphs')
        trt = dict(gpu, trt_fp16_enable=precision == 'fp16', trt_engine_cache_enable=True)
        trt['trt_engine_cache_path'] = str(self.export_dir / 'trt_cache')
        by_name = {TENSORRT: trt, CUDA: gpu, CPU: {}}
        return [by_name[p] for p in self.providers]

    def _load(
        self, graph: str, opts: ort.SessionOptions, options: list[dict], verify: bool
    ) -> ort.InferenceSession:
        """One graph's session; errors name the file and say what is wrong."""
        info = self.export_info['graphs'].get(graph)
        meta = self.export_dir / 'metadata.json'
        if not isinstance(info, dict) or 'file' not in info:
            raise ExportFormatError(f'{meta}: no {graph!r} graph entry')
        path = self.export_dir / info['file']
        if not path.is_file():
            raise FileNotFoundError(f'ONNX graph {path} (listed in {meta}) does not exist')
        if verify and info.get('sha256') and sha256_file(path) != info['sha256']:
            raise ExportFormatError(
                f'{path}: SHA-256 differs from {meta} (corrupt or replaced file; re-export)'
            )
        try:
            session = ort.InferenceSession(
                str(path), opts, providers=self.providers, provider_options=options
            )
        except Exception as exc:  # InvalidProtobuf, Fail, NoSuchFile... all name no file
            raise ExportFormatError(f'{path}: ONNX Runtime cannot load it ({exc})') from exc
        names = [i.name for i in session.get_inputs()]
        if names != list(info.get('inputs', names)):
            raise ExportFormatError(f'{path}: inputs {names} != {info.get("inputs")} in {meta}')
        dropped = [p for p in self.providers if p not in session.get_providers()]
        if dropped:
            log.warning('%s: ONNX Runtime could not start %s (see its log)', path.name, dropped)
        return session

    # ------------------------------------------------------------------------------ protocol
    def encode_satellite(self, tile_rgb: np.ndarray) -> OrtSatFeatures:
        """``S x S x 3`` uint8 RGB north-up tile -> ``OrtSatFeatures(tokens [1, N^2, D])``."""
        x = preprocess_satellite(tile_rgb, self.sat_size, self._mean, self._std)
        if self._gpu is None:
            return OrtSatFeatures(self._sat.run(['sat_tokens'], {'sat': x})[0])
        binding = self._sat.io_binding()
        binding.bind_cpu_input('sat', x)
        binding.bind_output('sat_tokens', *self._gpu)
        self._sat.run_with_iobinding(binding)
        return OrtSatFeatures(binding.get_outputs()[0])

    def empty_hidden(self) -> OrtHidden:
        """All-invalid hidden state (start of a sequence), on the engine's device."""
        cfg = self.config
        state = np.zeros((1, cfg.num_cells, cfg.feature_dim), np.float32)
        return self._place(state, np.zeros((1, cfg.num_cells), bool))

    def _place(self, state: np.ndarray, valid: np.ndarray) -> OrtHidden:
        if self._gpu is None:
            return OrtHidden(state, valid)
        to_dev = ort.OrtValue.ortvalue_from_numpy
        return OrtHidden(to_dev(state, *self._gpu), to_dev(valid, *self._gpu))

    def step(
        self, ground_rgb: np.ndarray, sat_feats: OrtSatFeatures, hidden: OrtHidden | None
    ) -> EngineOutput:
        """One camera frame (``H x W x 3`` uint8 RGB) -> ``EngineOutput`` (prob ``(N, N)``,
        offsets ``(N, N, 2)``, hidden ``OrtHidden``)."""
        x = preprocess_ground(ground_rgb, self.config.ground_size, self._mean, self._std)
        hidden = self.empty_hidden() if hidden is None else hidden
        if self._gpu is None:
            feeds = {'ground': x, 'sat_tokens': sat_feats.tokens}
            feeds.update(state=hidden.state, valid=hidden.valid)
            feeds = {k: v for k, v in feeds.items() if k in self._step_inputs}
            logits, offsets, state, valid = self._step.run(STEP_OUTPUTS, feeds)
            new_hidden = OrtHidden(state, valid)
        else:
            logits, offsets, new_hidden = self._step_bound(x, sat_feats, hidden)
        n = self.grid_n
        prob = softmax(logits[0]).reshape(n, n)
        return EngineOutput(prob, offsets[0].astype(np.float64).reshape(n, n, 2), new_hidden)

    def _step_bound(
        self, x: np.ndarray, sat_feats: OrtSatFeatures, hidden: OrtHidden
    ) -> tuple[np.ndarray, np.ndarray, OrtHidden]:
        """GPU step: tokens and hidden state stay on the device; logits/offsets come to host."""
        binding = self._step.io_binding()
        binding.bind_cpu_input('ground', x)
        binding.bind_ortvalue_input('sat_tokens', sat_feats.tokens)
        for name, value in zip(('state', 'valid'), hidden):
            if name in self._step_inputs:
                binding.bind_ortvalue_input(name, value)
        binding.bind_output('logits', 'cpu')
        binding.bind_output('offsets', 'cpu')
        binding.bind_output('new_state', *self._gpu)
        binding.bind_output('new_valid', *self._gpu)
        self._step.run_with_iobinding(binding)
        logits, offsets, state, valid = binding.get_outputs()
        return logits.numpy(), offsets.numpy(), OrtHidden(state, valid)

    def shift_hidden(self, hidden: OrtHidden, d_row: int, d_col: int) -> OrtHidden:
        """Re-grid the hidden state by whole cells (``model.state.shift_hidden`` semantics).

        On the GPU this copies through the host; it only happens when the tile changes."""
        return self._place(*shift_hidden_np(*hidden.numpy(), d_row, d_col))
