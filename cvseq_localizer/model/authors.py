"""Importer for the authors' released checkpoints (CVSeqLocation / WACV'24 CVLocationTrans).

Their files are ``{'state_dict': ..., 'optimizer': ...}`` with the key names listed in
``test/model/data/authors_state_dict.txt``. Their backbones, projections, fusion network and
heads map one-to-one onto ours (renamed below). Offsets need no conversion: their
``coordinator_head`` channels are ``(ty, tx)`` = ``(row, col)``, our order. Their
``temporal_attn.*`` weights are *not* imported: their temporal module attends over ground tokens
before fusion, ours is the paper's TAM on the fusion feature (see ``temporal.py``).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from torch import Tensor

from cvseq_localizer.model.checkpoint import CheckpointError, load_state_checked, read_file
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import CrossViewSeqNet, build_model

logger = logging.getLogger(__name__)

NOT_IMPORTED_PREFIX = 'temporal_attn.'
_LAYER = r'^feature_fusion_network\.encoder\.layers\.(\d+)\.'
_DECODER = r'^feature_fusion_network\.decoder\.'
# (authors' key pattern, our replacement), applied first match only.
KEY_RULES: tuple[tuple[str, str], ...] = (
    (r'^sat_extractor\.', 'sat_backbone.'),
    (r'^grd_extractor\.', 'ground_backbone.'),
    (r'^grd_proj\.', 'ground_proj.'),
    (r'^(sat_proj|location_head|coordinator_head)\.', r'\1.'),
    (_LAYER + r'self_attn_source1\.', r'fusion.layers.\1.self_sat.attn.'),
    (_LAYER + r'self_attn_source2\.', r'fusion.layers.\1.self_ground.attn.'),
    (_LAYER + r'cros_attn_source1\.', r'fusion.layers.\1.cross_sat.attn.'),
    (_LAYER + r'cros_attn_source2\.', r'fusion.layers.\1.cross_ground.attn.'),
    (_LAYER + r'source_1_FFN\.', r'fusion.layers.\1.ffn_sat.net.'),
    (_LAYER + r'source_2_FFN\.', r'fusion.layers.\1.ffn_ground.net.'),
    (_LAYER + r'sa_norm1\.', r'fusion.layers.\1.self_sat.norm.'),
    (_LAYER + r'sa_norm2\.', r'fusion.layers.\1.self_ground.norm.'),
    (_LAYER + r'ca_norm1_1\.', r'fusion.layers.\1.cross_sat.norm.'),
    (_LAYER + r'ca_norm1_2\.', r'fusion.layers.\1.ffn_sat.norm.'),
    (_LAYER + r'ca_norm2_1\.', r'fusion.layers.\1.cross_ground.norm.'),
    (_LAYER + r'ca_norm2_2\.', r'fusion.layers.\1.ffn_ground.norm.'),
    (_DECODER + r'layers\.0\.cross_attn\.', 'fusion.final_cross.attn.'),
    (_DECODER + r'layers\.0\.norm1\.', 'fusion.final_cross.norm.'),
    (_DECODER + r'layers\.0\.FFN\.', 'fusion.final_ffn.net.'),
    (_DECODER + r'layers\.0\.norm2\.', 'fusion.final_ffn.norm.'),
    (_DECODER + r'norm\.', 'fusion.final_norm.'),
)


@dataclass(frozen=True)
class ImportReport:
    """What an import did with every key."""

    imported: list[str]  # our keys filled from the file
    not_imported: list[str]  # the authors' keys deliberately skipped (temporal_attn.*)
    left_initialised: list[str]  # our keys with no counterpart (our TAM when temporal=True)


def map_authors_key(key: str) -> str | None:
    """Our name for an authors' state-dict key; None for keys we do not import."""
    if key.startswith(NOT_IMPORTED_PREFIX):
        return None
    for pattern, repl in KEY_RULES:
        new, count = re.subn(pattern, repl, key, count=1)
        if count:
            return new
    raise ValueError(f'unknown key {key!r} in the authors checkpoint')


def import_authors_state_dict(
    state_dict: dict[str, Tensor], config: ModelConfig | None = None, source: str = '<dict>'
) -> tuple[CrossViewSeqNet, ImportReport]:
    """Build our model and fill it from the authors' ``state_dict``.

    ``config`` defaults to the paper preset in baseline mode (``temporal=False``, max-pooled
    satellite grid as their baseline). With ``temporal=True`` our TAM keeps its fresh init (a
    start for stage-2 training, as their ``train_seq.py`` does from the baseline).
    """
    config = config or ModelConfig.preset('paper', temporal=False, sat_pool='max')
    model = build_model(config)
    mapped: dict[str, Tensor] = {}
    skipped = []
    try:
        for key, value in state_dict.items():
            ours = map_authors_key(key)
            if ours is None:
                skipped.append(key)
            else:
                mapped[ours] = value
    except ValueError as exc:
        raise CheckpointError(f'{source}: {exc}') from exc
    own = model.state_dict()
    rest = sorted(k for k in own if k not in mapped and k.startswith('temporal.'))
    load_state_checked(model, {**{k: own[k] for k in rest}, **mapped}, source=source)
    if skipped:
        logger.warning('%s: %d temporal_attn.* keys not imported', source, len(skipped))
    return model.eval(), ImportReport(sorted(mapped), sorted(skipped), rest)


def import_authors_checkpoint(
    path: str | os.PathLike, config: ModelConfig | None = None
) -> tuple[CrossViewSeqNet, ImportReport]:
    """Load an authors' ``.pth`` file (``{'state_dict', 'optimizer'}``) with
    ``weights_only=True``; see ``import_authors_state_dict``."""
    data = read_file(path)
    if isinstance(data, dict) and isinstance(data.get('state_dict'), dict):
        data = data['state_dict']
    if not isinstance(data, dict) or not data:
        raise CheckpointError(f'{path}: no state_dict found in the authors checkpoint')
    return import_authors_state_dict(data, config, source=str(path))
