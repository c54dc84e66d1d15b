"""Runs card code: worker processes per backend, spoken to over pipes.

This package is the only place that imports torch, tensorflow or mxnet, and
only inside worker processes (`quiz.runner.worker`) and their adapters.
"""
