"""ONNX export of a ``CrossViewSeqNet``: two graphs plus a metadata JSON file.

An export directory holds::

    satellite.onnx   sat [1, 3, S, S] normalised RGB -> sat_tokens [1, N^2, D]
    step.onnx        ground [1, 3, H, W], sat_tokens [1, N^2, D], state [1, N^2, D],
                     valid [1, N^2] bool -> logits [1, N^2], offsets [1, N^2, 2],
                     new_state [1, N^2, D], new_valid [1, N^2] bool
    metadata.json    model config, input sizes, normalisation, opset, graph files with their
                     SHA-256, source checkpoint SHA-256, the checkpoint's ``extra`` values

The hidden state is an explicit input and output of ``step.onnx`` (``step_tensors``), so a
runtime keeps it between frames. Every shape is static (batch 1, sizes from the config): the
engines resize inputs to the config sizes, so nothing needs a dynamic axis.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import logging
import math
import os
import warnings
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import Tensor, nn

from cvseq_localizer.model.checkpoint import CheckpointError, check_extra, load_checkpoint
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import CrossViewSeqNet

logger = logging.getLogger(__name__)

FORMAT = 'cvseq_localizer.onnx/1'
METADATA_FILE = 'metadata.json'
DEFAULT_OPSET = 18  # ORT >= 1.14 and TensorRT 10 parse it; 23 (fused Attention) is slower on CPU
SAT_INPUTS, SAT_OUTPUTS = ['sat'], ['sat_tokens']
STEP_INPUTS = ['ground', 'sat_tokens', 'state', 'valid']
STEP_OUTPUTS = ['logits', 'offsets', 'new_state', 'new_valid']
EXPORTERS = ('dynamo', 'torchscript')


class ExportFormatError(ValueError):
    """An export directory or metadata file that cannot be used (corrupt, wrong format)."""


class _SatelliteGraph(nn.Module):
    """``sat [1, 3, S, S]`` -> ``sat_tokens [1, N^2, D]`` (the position encoding is constant)."""

    def __init__(self, model: CrossViewSeqNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, sat: Tensor) -> Tensor:
        return self.model.encode_satellite(sat).tokens


class _StepGraph(nn.Module):
    """``step_tensors`` as a module: the hidden state is an explicit input and output."""

    def __init__(self, model: CrossViewSeqNet) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, ground: Tensor, sat_tokens: Tensor, state: Tensor, valid: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self.model.step_tensors(ground, sat_tokens, state, valid)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def default_exporter() -> str:
    """'dynamo' (torch's default ONNX exporter) when ``onnxscript`` is installed, else the
    legacy 'torchscript' exporter (logged)."""
    if importlib.util.find_spec('onnxscript') is not None:
        return 'dynamo'
    logger.warning('onnxscript is not installed; using the legacy TorchScript ONNX exporter')
    return 'torchscript'


def example_inputs(config: ModelConfig) -> dict[str, Tensor]:
    """Deterministic example tensors for every graph input (shapes of the exported graphs)."""
    gen = torch.Generator().manual_seed(0)
    n2, d = config.num_cells, config.feature_dim
    s = config.sat_size
    return {
        'sat': torch.randn(1, 3, s, s, generator=gen),
        'ground': torch.randn(1, 3, *config.ground_size, generator=gen),
        'sat_tokens': torch.randn(1, n2, d, generator=gen),
        'state': torch.randn(1, n2, d, generator=gen),
        'valid': torch.rand(1, n2, generator=gen) > 0.5,
    }


def _export_graph(
    module: nn.Module,
    args: tuple[Tensor, ...],
    path: Path,
    names: tuple[list[str], list[str]],
    opset: int,
    exporter: str,
) -> None:
    """Export one graph to a single self-contained ``.onnx`` file and check it."""
    captured = io.StringIO()  # the dynamo exporter prints progress lines
    with contextlib.redirect_stdout(captured), warnings.catch_warnings(), torch.no_grad():
        # Shape checks in the model are constant for the static shapes exported here.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=names[0],
            output_names=names[1],
            opset_version=opset,
            dynamo=exporter == 'dynamo',
            external_data=False,
        )
    if captured.getvalue().strip():
        logger.debug('torch.onnx.export(%s): %s', path.name, captured.getvalue().strip())
    onnx.checker.check_model(str(path), full_check=True)
    logger.info('exported %s (%.1f MB)', path, path.stat().st_size / 1e6)


def graph_io(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Input and output names of an ``.onnx`` file (an exporter may drop unused inputs, e.g.
    the hidden state of a model without TAM)."""
    graph = onnx.load(str(path), load_external_data=False).graph
    return [i.name for i in graph.input], [o.name for o in graph.output]


def export_model(
    model: CrossViewSeqNet,
    out_dir: str | os.PathLike,
    *,
    extra: dict[str, Any] | None = None,
    source: dict[str, str] | None = None,
    opset: int = DEFAULT_OPSET,
    exporter: str | None = None,
) -> Path:
    """Export ``model`` (eval mode, CPU, fp32) to ``out_dir``; returns the metadata file path.

    ``extra`` are the checkpoint's plain values (tensors become lists); ``source`` describes
    the checkpoint (``{'path': ..., 'sha256': ...}``).
    """
    exporter = exporter or default_exporter()
    if exporter not in EXPORTERS:
        raise ValueError(f'exporter {exporter!r} must be one of {EXPORTERS}')
    model = model.cpu().float().eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x = example_inputs(model.config)
    graphs = {
        'satellite': (_SatelliteGraph(model), (x['sat'],), (SAT_INPUTS, SAT_OUTPUTS)),
        'step': (_StepGraph(model), tuple(x[k] for k in STEP_INPUTS), (STEP_INPUTS, STEP_OUTPUTS)),
    }
    files = {}
    for name, (module, args, names) in graphs.items():
        path = out / f'{name}.onnx'
        _export_graph(module, args, path, names, opset, exporter)
        inputs, outputs = graph_io(path)
        files[name] = {
            'file': path.name,
            'sha256': sha256_file(path),
            'inputs': inputs,
            'outputs': outputs,
        }
    meta = build_metadata(model.config, files, extra or {}, source or {}, opset, exporter)
    meta_path = out / METADATA_FILE
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + '\n')
    return meta_path


def build_metadata(
    config: ModelConfig,
    graphs: dict[str, dict],
    extra: dict[str, Any],
    source: dict[str, str],
    opset: int,
    exporter: str,
) -> dict[str, Any]:
    """The metadata dict written next to the graphs (JSON builtins only)."""
    n2, d = config.num_cells, config.feature_dim
    return {
        'format': FORMAT,
        'config': config.to_dict(),
        'inputs': {
            'sat': [1, 3, config.sat_size, config.sat_size],
            'ground': [1, 3, *config.ground_size],
            'sat_tokens': [1, n2, d],
            'state': [1, n2, d],
            'valid': [1, n2],
        },
        'normalisation': {'mean': list(config.mean), 'std': list(config.std), 'scale': 255.0},
        'graphs': graphs,
        'opset': opset,
        'exporter': exporter,
        'torch_version': torch.__version__,
        'onnx_version': onnx.__version__,
        'source_checkpoint': dict(source),
        'extra': _jsonable(extra),
    }


def export_checkpoint(
    checkpoint: str | os.PathLike,
    out_dir: str | os.PathLike,
    opset: int = DEFAULT_OPSET,
    exporter: str | None = None,
) -> Path:
    """Export a ``.pt`` checkpoint to ``out_dir``; returns the metadata file path."""
    model, extra = load_checkpoint(checkpoint, map_location='cpu')
    source = {'path': str(Path(checkpoint).resolve()), 'sha256': sha256_file(checkpoint)}
    return export_model(model, out_dir, extra=extra, source=source, opset=opset, exporter=exporter)


def read_metadata(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """Read an export's metadata: ``path`` is the export directory or its metadata ``.json``.

    Returns ``(export_dir, metadata)``. FileNotFoundError / ExportFormatError name the file.
    """
    path = Path(path)
    meta_path = path / METADATA_FILE if path.is_dir() else path
    if not meta_path.is_file():
        raise FileNotFoundError(f'ONNX export metadata {meta_path} does not exist')
    try:
        meta = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportFormatError(f'{meta_path}: not valid JSON ({exc})') from exc
    if not isinstance(meta, dict) or meta.get('format') != FORMAT:
        found = meta.get('format') if isinstance(meta, dict) else type(meta).__name__
        raise ExportFormatError(f'{meta_path}: not a {FORMAT} metadata file (format {found!r})')
    for key in ('config', 'graphs'):
        if not isinstance(meta.get(key), dict):
            raise ExportFormatError(f'{meta_path}: missing or invalid {key!r}')
    config_from_metadata(meta, str(meta_path))
    _check_normalisation(meta.get('normalisation'), meta_path)
    extra = meta.get('extra') or {}
    if not isinstance(extra, dict):
        raise ExportFormatError(f'{meta_path}: extra is a {type(extra).__name__}, not an object')
    try:
        check_extra(extra, str(meta_path))
    except CheckpointError as exc:
        raise ExportFormatError(str(exc)) from None
    return meta_path.parent, meta


def _check_normalisation(norm: Any, meta_path: Path) -> None:
    """ExportFormatError naming the file unless mean/std are 3 finite numbers (std > 0)."""
    if norm is None:
        return
    if not isinstance(norm, dict):
        raise ExportFormatError(f'{meta_path}: normalisation is not an object')
    for key in ('mean', 'std'):
        values = norm.get(key, [0.0, 0.0, 1.0] if key == 'mean' else [1.0, 1.0, 1.0])
        good = isinstance(values, list) and len(values) == 3
        good = good and all(_finite_number(v) and (key == 'mean' or v > 0) for v in values)
        if not good:
            raise ExportFormatError(
                f'{meta_path}: normalisation {key} {values!r} must be 3 finite numbers'
                + (' > 0' if key == 'std' else '')
            )


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def config_from_metadata(meta: dict[str, Any], where: str) -> ModelConfig:
    """The ``ModelConfig`` stored in export metadata (ExportFormatError naming ``where``)."""
    try:
        return ModelConfig.from_dict(meta['config'])
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportFormatError(f'{where}: invalid model config ({exc})') from exc


def _jsonable(value: Any) -> Any:
    """Checkpoint ``extra`` values as JSON builtins (tensors become nested lists)."""
    if isinstance(value, Tensor):
        return value.detach().cpu().tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
