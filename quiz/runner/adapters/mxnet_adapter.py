"""MXNet 1.9.1 (retired; the last release): `mx`, `nd`, `autograd`, `gluon`, `nn`, `np`, `device`.

MXNet 1.9.1 still refers to `np.bool`, which numpy removed in 1.24; the alias
is restored here, before the import, and nowhere else in the project.
"""

from __future__ import annotations

import os
from typing import Any

from quiz.runner.adapters.base import Adapter
from quiz.runner.pristine import Policy, Setting


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

    def exercise(self) -> None:
        mx = self.mx
        x = mx.nd.ones((4, 4))
        x.attach_grad()
        with mx.autograd.record():
            y = mx.nd.dot(x, x).sum()
        y.backward()
        x.grad.wait_to_read()
        # First uses that fill registries: a Gluon block initialised, hybridized and trained a step.
        net = mx.gluon.nn.HybridSequential()
        net.add(mx.gluon.nn.Dense(2))
        net.initialize()
        net.hybridize()
        trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        with mx.autograd.record():
            loss = net(x).sum()
        loss.backward()
        trainer.step(4)
        repr(x)

        # A custom autograd Function starts MXNet's custom-op thread on first use.
        class Square(mx.autograd.Function):  # type: ignore[misc,name-defined]
            def forward(self, v: Any) -> Any:
                self.save_for_backward(v)
                return v * v

            def backward(self, dy: Any) -> Any:
                (v,) = self.saved_tensors
                return dy * 2 * v

        x.attach_grad()
        with mx.autograd.record():
            z = Square()(x).sum()
        z.backward()
        x.grad.wait_to_read()
        # The symbolic Module API (an executor bound, run forward).
        data = mx.sym.var("data")
        module = mx.mod.Module(mx.sym.Dropout(data, p=0.5), data_names=["data"], label_names=None)
        module.bind(data_shapes=[("data", (1, 4))], for_training=True)
        module.init_params()
        module.forward(mx.io.DataBatch([mx.nd.ones((1, 4))]), is_train=True)
        module.get_outputs()[0].wait_to_read()

    def policy(self) -> Policy:
        mx = self.mx
        autograd, util = mx.autograd, mx.util
        Context = mx.context.Context
        names, attrs = mx.name.NameManager, mx.attribute.AttrScope

        def bulk_size() -> int:
            previous = int(mx.engine.set_bulk_size(0))  # the only way to read it is to set it
            mx.engine.set_bulk_size(previous)
            return previous

        settings = [
            Setting("MXNet autograd recording", autograd.is_recording, autograd.set_recording),
            Setting("MXNet autograd training mode", autograd.is_training, autograd.set_training),
            Setting("MXNet numpy shape semantics", util.is_np_shape, util.set_np_shape),
            Setting("MXNet numpy array semantics", util.is_np_array, lambda on: util._set_np_array(on)),
            Setting("MXNet engine bulk size", bulk_size, mx.engine.set_bulk_size),
            Setting(
                "MXNet default context",
                lambda: getattr(Context._default_ctx, "value", None),
                lambda v: setattr(Context._default_ctx, "value", v),
            ),
            Setting(
                "MXNet name scope",
                lambda: getattr(names._current, "value", None),
                lambda v: setattr(names._current, "value", v),
            ),
            Setting(
                "MXNet attribute scope",
                lambda: getattr(attrs._current, "value", None),
                lambda v: setattr(attrs._current, "value", v),
            ),
        ]
        return super().policy() | Policy(settings=tuple(settings))

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
