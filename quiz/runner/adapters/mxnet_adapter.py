"""MXNet 1.9.1 (retired; the last release): `mx`, `nd`, `autograd`, `gluon`, `nn`, `np`, `device`.

MXNet 1.9.1 still refers to `np.bool`, which numpy removed in 1.24; the alias
is restored here, before the import, and nowhere else in the project.
"""

from __future__ import annotations

from typing import Any

from quiz.runner.adapters.base import Adapter


class MxnetAdapter(Adapter):
    name = "mxnet"

    def load(self) -> None:
        import numpy

        if not hasattr(numpy, "bool"):
            numpy.bool = bool  # type: ignore[attr-defined]  # the mxnet 1.9.1 shim
        import mxnet

        self.mx = mxnet
        self.np = numpy
        self._gpus = mxnet.context.num_gpus()

    @property
    def version(self) -> str:
        return str(self.mx.__version__)

    def devices(self) -> list[str]:
        return ["cpu", "gpu"] if self._gpus else ["cpu"]

    def reset(self, seed: int) -> None:
        super().reset(seed)
        self.mx.random.seed(seed)

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

    def tensor_to_plain(self, value: Any) -> Any:
        mx = self.mx
        if isinstance(value, mx.nd.NDArray):
            return value.asnumpy()
        if isinstance(value, mx.context.Context):
            return str(value)
        return NotImplemented


ADAPTER = MxnetAdapter
