"""Inference engines behind one protocol (torch and onnxruntime)."""

from cvseq_localizer.runtime.engine import EngineOutput, InferenceEngine

__all__ = ['EngineOutput', 'InferenceEngine']
