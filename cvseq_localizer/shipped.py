"""Where the shipped model weights are: one file name, one lookup (node, demo, replay, evaluate).

Searched in order: the ament share directory (a ROS install), ``<sys.prefix>/share/cvseq_localizer
/models`` (a plain ``pip install .``, see ``setup.py``'s ``data_files``), then the repository's
``models/`` (a source checkout).
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = 'cvseq_localizer'
SHIPPED_MODEL_FILE = 'small_tam.pt'
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
