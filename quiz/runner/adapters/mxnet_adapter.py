"""MXNet 1.9.1 (retired; the last release): `mx`, `nd`, `autograd`, `gluon`, `nn`, `np`, `device`.

MXNet 1.9.1 still refers to `np.bool`, which numpy removed in 1.24; the alias
is restored here, before the import, and nowhere else in the project.
"""

from __future__ import annotations

import os
from typing import Any

from quiz.runner.adapters.base import Adapter


class MxnetAdapter(Adapter):
    name = "mxnet"

    def load(self, threads: int | None = None) -> None:
        import numpy

        if not hasattr(numpy, "bool"):
            numpy.bool = bool  # type: ignore[attr-defined]  # the mxnet 1.9.1 shim
        if threads:
            os.environ.setdefault("MXNET_CPU_WORKER_NTHREADS", str(threads))
            os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        import mxnet

        self.mx = mxnet
        self.np = numpy
        self._gpus = int(mxnet.context.num_gpus())

    def warm_up(self) -> None:
        mx = self.mx
        x = mx.nd.ones((4, 4))
        x.attach_grad()
        with mx.autograd.record():
            y = mx.nd.dot(x, x).sum()
        y.backward()
        x.grad.wait_to_read()

    @property
    def version(self) -> str:
        return str(self.mx.__version__)

    def devices(self) -> list[str]:
        return ["cpu", "gpu"] if self._gpus else ["cpu"]

    def gpu_count(self) -> int:
        return self._gpus

    def reset(self, seed: int) -> None:
        super().reset(seed)
        self.mx.random.seed(seed)
        autograd = self.mx.autograd
        if autograd.is_recording():  # a card that left `autograd.record()` open by hand
            autograd.set_recording(False)
        if autograd.is_training():
            autograd.set_training(False)

    def namespace(self, device: str) -> dict[str, Any]:
        mx = self.mx
        ctx = mx.gpu(0) if device == "gpu" else mx.cpu()
        return {
            "mx": mx,
            "nd": mx.nd,
            "autograd": mx.autograd,
            "gluon": mx.gluon,
            "nn": mx.gluon.nn,
            "np": self.np,
            "device": ctx,
            "ctx": ctx,
        }

    def is_out_of_memory(self, exc: BaseException) -> bool:
        if not isinstance(exc, self.mx.base.MXNetError):
            return False
        text = str(exc).lower()
        return "out of memory" in text or "bad_alloc" in text or "failed to allocate" in text

    def tensor_to_plain(self, value: Any) -> Any:
        mx = self.mx
        if isinstance(value, mx.nd.NDArray):
            return value.asnumpy()
        if isinstance(value, mx.context.Context):
            return str(value)
        return NotImplemented


ADAPTER = MxnetAdapter
