"""Cross-view sequential localization network: config, model, loss, checkpoints, importers."""

from cvseq_localizer.model.authors import ImportReport, import_authors_checkpoint
from cvseq_localizer.model.checkpoint import (
    CheckpointError,
    load_backbone_weights,
    load_checkpoint,
    save_checkpoint,
)
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.heads import Decoded, decode
from cvseq_localizer.model.loss import LossParts, sequence_loss
from cvseq_localizer.model.net import CrossViewSeqNet, build_model
from cvseq_localizer.model.state import HiddenState, SatFeatures, StepOutput, shift_hidden

__all__ = [
    'CheckpointError',
    'CrossViewSeqNet',
    'Decoded',
    'HiddenState',
    'ImportReport',
    'LossParts',
    'ModelConfig',
    'SatFeatures',
    'StepOutput',
    'build_model',
    'decode',
    'import_authors_checkpoint',
    'load_backbone_weights',
    'load_checkpoint',
    'save_checkpoint',
    'sequence_loss',
    'shift_hidden',
]
