"""PyTorch: `torch`, `nn`, `F`, `np` and `device` in each card's namespace."""

from __future__ import annotations

from typing import Any

from quiz.runner.adapters.base import Adapter


class TorchAdapter(Adapter):
    name = "torch"

    def load(self) -> None:
        import numpy
        import torch

        self.torch = torch
        self.np = numpy
        self._default_dtype = torch.get_default_dtype()

    @property
    def version(self) -> str:
        return str(self.torch.__version__).split("+")[0]

    def devices(self) -> list[str]:
        have = ["cpu"]
        if self.torch.cuda.is_available() or (
            getattr(self.torch.backends, "mps", None) and self.torch.backends.mps.is_available()
        ):
            have.append("gpu")
        return have

    def device_name(self, device: str) -> str:
        if device != "gpu":
            return "cpu"
        return "cuda" if self.torch.cuda.is_available() else "mps"

    def reset(self, seed: int) -> None:
        super().reset(seed)
        torch = self.torch
        torch.manual_seed(seed)
        torch.set_grad_enabled(True)
        if torch.get_default_dtype() != self._default_dtype:
            torch.set_default_dtype(self._default_dtype)

    def namespace(self, device: str) -> dict[str, Any]:
        torch = self.torch
        return {
            "torch": torch,
            "nn": torch.nn,
            "F": torch.nn.functional,
            "np": self.np,
            "device": torch.device(self.device_name(device)),
        }

    def tensor_to_plain(self, value: Any) -> Any:
        torch = self.torch
        if isinstance(value, torch.Size):
            return list(value)
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().tolist()
        if isinstance(value, torch.dtype):
            return self.to_dtype(value)
        return NotImplemented

    def to_dtype(self, value: Any) -> str:
        if isinstance(value, self.torch.dtype):
            return super().to_dtype(str(value))
        return super().to_dtype(value)


ADAPTER = TorchAdapter
