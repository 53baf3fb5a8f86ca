"""``load_engine``: one call that turns a model path into an :class:`InferenceEngine`.

A ``.pt`` checkpoint runs with torch; an export directory (or its ``metadata.json``) runs with
ONNX Runtime. ``engine='auto'`` picks the faster runtime for the device among those the path
allows (see ``CPU_AUTO_PREFERENCE``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from cvseq_localizer.runtime.engine import InferenceEngine
from cvseq_localizer.runtime.export import METADATA_FILE, read_metadata, sha256_file

log = logging.getLogger(__name__)

ENGINES = ('torch', 'onnx', 'auto')
CHECKPOINT_SUFFIXES = ('.pt', '.pth')
# Measured with bench/bench_engines.py on this 2-core AVX-512 AMD CPU (2 threads, runs
# interleaved): quiet machine (load ~1.7) paper step p50 0.30 s ONNX Runtime vs 0.47 s torch,
# small 6.8 ms vs 10.1 ms; loaded (load ~4) 0.52 s vs 3.2 s. MKL (torch) takes an AVX2 path on AMD
# (dense matmul ~100-200 vs ~230 GFLOP/s in ORT's MLAS) and torch's OpenMP threads degrade far
# more when the cores are shared. So on a CPU 'auto' uses an up-to-date ONNX export when one
# exists. On CUDA it keeps the given format (torch for a checkpoint): GPUs were not measured.
CPU_AUTO_PREFERENCE = 'onnx'


def default_export_dir(checkpoint: str | os.PathLike) -> Path:
    """Where ``cvseq-export`` puts a checkpoint's export by default: ``<stem>_onnx/`` beside it."""
    path = Path(checkpoint)
    return path.with_name(f'{path.stem}_onnx')


def model_kind(model_path: str | os.PathLike) -> str:
    """'torch' for a checkpoint file, 'onnx' for an export directory or metadata ``.json``."""
    path = Path(model_path)
    if not path.exists():
        raise FileNotFoundError(f'model file {path} does not exist')
    if path.is_dir() or path.suffix == '.json':
        return 'onnx'
    if path.suffix in CHECKPOINT_SUFFIXES:
        return 'torch'
    raise ValueError(
        f'{path}: cannot tell the model format (expected a {CHECKPOINT_SUFFIXES} checkpoint, '
        f'an export directory or its {METADATA_FILE})'
    )


def _matching_export(checkpoint: Path) -> Path | None:
    """The default export of ``checkpoint`` if it exists and was made from these exact bytes."""
    export_dir = default_export_dir(checkpoint)
    if not (export_dir / METADATA_FILE).is_file():
        return None
    try:
        _, meta = read_metadata(export_dir)
    except ValueError as exc:
        log.warning('ignoring export %s: %s', export_dir, exc)
        return None
    if meta.get('source_checkpoint', {}).get('sha256') != sha256_file(checkpoint):
        log.info('export %s was made from another checkpoint; not using it', export_dir)
        return None
    return export_dir


def resolve_engine(model_path: str | os.PathLike, engine: str, device: str) -> tuple[str, Path]:
    """``(engine, path)`` that ``load_engine`` will use (no model is loaded)."""
    if engine not in ENGINES:
        raise ValueError(f'engine {engine!r} must be one of {ENGINES}')
    path = Path(model_path)
    kind = model_kind(path)
    if engine == 'auto':
        if kind == 'torch' and not device.startswith('cuda') and CPU_AUTO_PREFERENCE == 'onnx':
            export_dir = _matching_export(path)
            if export_dir is not None:
                return 'onnx', export_dir
            log.info(
                'no up-to-date ONNX export at %s; running torch (cvseq-export %s --out %s is '
                'faster on CPU)',
                default_export_dir(path),
                path,
                default_export_dir(path),
            )
        return kind, path
    if engine != kind:
        raise ValueError(
            f'{path} holds a {kind} model but engine={engine!r} was requested'
            + (' (export it with cvseq-export first)' if engine == 'onnx' else '')
        )
    return kind, path


def load_engine(
    model_path: str | os.PathLike,
    engine: str = 'auto',
    device: str = 'cpu',
    providers: Sequence[str] | None = None,
    precision: str = 'fp32',
    threads: int = 2,
) -> InferenceEngine:
    """Load a model for inference.

    Args:
        model_path: a ``.pt`` checkpoint (torch) or an export directory / ``metadata.json``.
        engine: 'torch', 'onnx' or 'auto' (the faster one available for ``device``).
        device: 'cpu' or 'cuda[:N]'.
        providers: ONNX Runtime providers (names or 'tensorrt'/'cuda'/'cpu'); onnx only.
        precision: 'fp32', 'fp16' (torch autocast on CUDA, TensorRT fp16) or 'bf16' (torch).
        threads: CPU threads (ONNX Runtime intra-op threads; torch's global thread count is
            left to the caller).

    Raises FileNotFoundError naming a missing file and a ValueError subclass
    (``CheckpointError``, ``ExportFormatError``) naming a corrupt one.
    """
    from cvseq_localizer.model.geo_checkpoint import is_geo_checkpoint

    if Path(model_path).suffix in CHECKPOINT_SUFFIXES and is_geo_checkpoint(model_path):
        from cvseq_localizer.runtime.geo_engine import load_geo_engine

        return load_geo_engine(model_path, device)  # geometry-aware network: torch only
    kind, path = resolve_engine(model_path, engine, device)
    if kind == 'onnx':
        from cvseq_localizer.runtime.onnx_engine import OrtEngine

        return OrtEngine(path, providers, device, precision, intra_op_threads=threads)
    from cvseq_localizer.runtime.torch_engine import TorchEngine

    if providers:
        log.warning('providers %s only apply to ONNX Runtime; ignored for torch', providers)
    return TorchEngine.from_checkpoint(path, device, precision)
