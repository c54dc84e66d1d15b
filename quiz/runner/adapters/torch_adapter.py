"""PyTorch: `torch`, `nn`, `F`, `np` and `device` in each card's namespace."""

from __future__ import annotations

from typing import Any

from quiz.runner.adapters.base import Adapter


class TorchAdapter(Adapter):
    name = "torch"

    def load(self, threads: int | None = None) -> None:
        import numpy
        import torch

        self.torch = torch
        self.np = numpy
        if threads:
            torch.set_num_threads(threads)
            try:
                torch.set_num_interop_threads(threads)
            except RuntimeError:  # only possible before any parallel work
                pass
        self._default_dtype = torch.get_default_dtype()
        self._cuda = bool(torch.cuda.is_available())
        mps = getattr(torch.backends, "mps", None)
        self._mps = bool(not self._cuda and mps is not None and mps.is_available())

    def warm_up(self) -> None:
        torch = self.torch
        x = torch.ones(4, 4, requires_grad=True)
        (x @ x).sum().backward()

    @property
    def version(self) -> str:
        return str(self.torch.__version__).split("+")[0]

    def devices(self) -> list[str]:
        return ["cpu", "gpu"] if self._cuda or self._mps else ["cpu"]

    def gpu_count(self) -> int:
        if self._cuda:
            return int(self.torch.cuda.device_count())
        return 1 if self._mps else 0

    def device_name(self, device: str) -> str:
        if device != "gpu":
            return "cpu"
        return "cuda" if self._cuda else "mps"

    def reset(self, seed: int) -> None:
        super().reset(seed)
        torch = self.torch
        if self._cuda or self._mps:
            torch.manual_seed(seed)  # seeds every device's generator
        else:
            # CPU only: the same effect without torch.manual_seed's tour of absent
            # accelerators (100 µs per card).
            torch.default_generator.manual_seed(seed)
        torch.set_grad_enabled(True)
        if torch.get_default_dtype() != self._default_dtype:
            torch.set_default_dtype(self._default_dtype)
        if torch.get_default_device().type != "cpu":
            torch.set_default_device(None)
        if torch.is_anomaly_enabled():
            torch.autograd.set_detect_anomaly(False)
        if torch.are_deterministic_algorithms_enabled():
            torch.use_deterministic_algorithms(False)

    def namespace(self, device: str) -> dict[str, Any]:
        torch = self.torch
        return {
            "torch": torch,
            "nn": torch.nn,
            "F": torch.nn.functional,
            "np": self.np,
            "device": torch.device(self.device_name(device)),
        }

    def is_out_of_memory(self, exc: BaseException) -> bool:
        torch = self.torch
        oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
        if oom is not None and isinstance(exc, oom):
            return True
        return isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)

    def tensor_to_plain(self, value: Any) -> Any:
        torch = self.torch
        if isinstance(value, torch.Size):
            return list(value)
        if isinstance(value, torch.Tensor):
            value = value.detach()
            if value.layout != torch.strided:
                value = value.to_dense()
            return value.cpu().tolist()
        if isinstance(value, torch.dtype):
            return self.to_dtype(value)
        if isinstance(value, torch.device):
            return str(value)
        return NotImplemented

    def to_dtype(self, value: Any) -> str:
        if isinstance(value, self.torch.dtype):
            return super().to_dtype(str(value))
        return super().to_dtype(value)


ADAPTER = TorchAdapter
