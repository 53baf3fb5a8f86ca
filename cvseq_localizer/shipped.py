"""Where the shipped model weights are: one file name, one lookup (node, demo, replay, evaluate).

Searched in order: the ament share directory (a ROS install), ``<sys.prefix>/share/cvseq_localizer
/models`` (a plain ``pip install .``, see ``setup.py``'s ``data_files``), then the repository's
``models/`` (a source checkout).
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = 'cvseq_localizer'
SHIPPED_MODEL_FILE = 'small_tam.pt'  # the paper-structured CPU network (perspective input)
# ``model_path`` of the training-free geometric matcher (no weights: cvseq_localizer.matching).
GEOMETRIC_MODEL = 'geometric'
# What runs when no model is named (node, replay, evaluate, demo). The geometric matcher: on
# held-out drives it beats every network we could train on this 2-core machine (numbers in
# models/README.md and the README's accuracy table); a file name here selects shipped weights.
DEFAULT_MODEL = GEOMETRIC_MODEL
REPO_MODELS_DIR = Path(__file__).resolve().parents[1] / 'models'


def model_dirs() -> list[Path]:
    """Candidate ``models`` directories, most specific installation first."""
    dirs = []
    try:
        from ament_index_python.packages import get_package_share_directory

        dirs.append(Path(get_package_share_directory(PACKAGE)) / 'models')
    except (ImportError, LookupError, ValueError, OSError):  # not a ROS install
        pass
    dirs.append(Path(sys.prefix) / 'share' / PACKAGE / 'models')
    dirs.append(REPO_MODELS_DIR)
    return dirs


def shipped_model(name: str = SHIPPED_MODEL_FILE) -> Path | None:
    """The first existing ``models/<name>`` of :func:`model_dirs`; ``None`` if none has it."""
    return next((d / name for d in model_dirs() if (d / name).is_file()), None)


def shipped_model_or_expected(name: str = SHIPPED_MODEL_FILE) -> Path:
    """:func:`shipped_model`, else where it was expected (for error messages)."""
    return shipped_model(name) or model_dirs()[0] / name


def default_model() -> str | None:
    """The default ``model_path`` (:data:`DEFAULT_MODEL`): ``'geometric'``, or the shipped
    weights' path (``None`` when they are not installed)."""
    if DEFAULT_MODEL == GEOMETRIC_MODEL:
        return GEOMETRIC_MODEL
    path = shipped_model(DEFAULT_MODEL)
    return None if path is None else str(path)
