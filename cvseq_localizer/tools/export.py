"""`cvseq-export CHECKPOINT --out DIR`: export a checkpoint to ONNX (satellite + step graphs).

The export directory then loads with ``load_engine(DIR)`` / ``OrtEngine(DIR)``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from cvseq_localizer.runtime.export import DEFAULT_OPSET, EXPORTERS, export_checkpoint
from cvseq_localizer.runtime.factory import default_export_dir


def export(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike | None = None,
    opset: int = DEFAULT_OPSET,
    exporter: str | None = None,
) -> Path:
    """Export ``checkpoint`` to ``out`` (default ``<stem>_onnx/`` beside it); returns the
    metadata file path."""
    out = default_export_dir(checkpoint) if out is None else Path(out)
    return export_checkpoint(checkpoint, out, opset=opset, exporter=exporter)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='cvseq-export', description=__doc__)
    parser.add_argument('checkpoint', type=Path, help='.pt checkpoint (save_checkpoint format)')
    parser.add_argument('--out', type=Path, help='export directory (default: <stem>_onnx/)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    parser.add_argument(
        '--exporter', choices=EXPORTERS, help='torch exporter (default dynamo if available)'
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    for noisy in ('onnx_ir', 'onnxscript'):  # one info line per folded node or shared weight
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        meta = export(args.checkpoint, args.out, args.opset, args.exporter)
    except (FileNotFoundError, ValueError) as exc:
        print(f'cvseq-export: error: {exc}', file=sys.stderr)
        return 2
    print(meta)
    return 0


if __name__ == '__main__':
    sys.exit(main())
