"""PyTorch: `torch`, `nn`, `F`, `np` and `device` in each card's namespace."""

from __future__ import annotations

from typing import Any

from quiz.runner.adapters.base import Adapter, refill
from quiz.runner.pristine import Policy, Setting


class TorchAdapter(Adapter):
    name = "torch"
    preload = (*Adapter.preload, "torch.autograd", "torch.utils.data", "torch.nn.functional")

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
        self._cuda = bool(torch.cuda.is_available())
        mps = getattr(torch.backends, "mps", None)
        self._mps = bool(not self._cuda and mps is not None and mps.is_available())

    def exercise(self) -> None:
        torch = self.torch
        x = torch.ones(4, 4, requires_grad=True)
        (x @ x).sum().backward()
        # First uses that load modules or fill registries: printing, no_grad, a module, an optimizer,
        # a data loader, saving to memory.
        import io

        repr(x)
        with torch.no_grad():
            y = x * 2
        net = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.ReLU())
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        loss = net(y).sum()
        loss.backward()
        opt.step()
        net.eval()
        net.state_dict()
        data = torch.utils.data.TensorDataset(torch.ones(4, 2))
        for _batch in torch.utils.data.DataLoader(data, batch_size=2):
            pass
        buf = io.BytesIO()
        torch.save(net.state_dict(), buf)
        buf.seek(0)
        torch.load(buf)
        # Ops big enough to start every thread of the intra-op pools (a conv, a large matmul).
        torch.nn.functional.conv2d(torch.ones(1, 3, 32, 32), torch.ones(8, 3, 3, 3))
        torch.ones(256, 256) @ torch.ones(256, 256)
        # torch.export (the built-in decks export a model) sets up dynamo's state on first use.
        exported = torch.export.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),))
        buf = io.BytesIO()
        torch.export.save(exported, buf)
        buf.seek(0)
        torch.export.load(buf).module()(torch.ones(1, 2))

    def policy(self) -> Policy:
        torch = self.torch
        C = torch._C
        flags = {  # C-level switches: getter → setter
            "_get_cudnn_enabled": "_set_cudnn_enabled",
            "_get_cudnn_benchmark": "_set_cudnn_benchmark",
            "_get_cudnn_deterministic": "_set_cudnn_deterministic",
            "_get_cudnn_allow_tf32": "_set_cudnn_allow_tf32",
            "_get_mkldnn_enabled": "_set_mkldnn_enabled",
            "_get_mkldnn_deterministic": "_set_mkldnn_deterministic",
            "_get_cublas_allow_tf32": "_set_cublas_allow_tf32",
            "_get_cpu_allow_fp16_reduced_precision_reduction": "_set_cpu_allow_fp16_reduced_precision_reduction",
            "_get_math_sdp_enabled": "_set_sdp_use_math",
            "_get_flash_sdp_enabled": "_set_sdp_use_flash",
            "_get_mem_efficient_sdp_enabled": "_set_sdp_use_mem_efficient",
            "_get_view_replay_enabled": "_set_view_replay_enabled",
            "_get_linalg_preferred_backend": "_set_linalg_preferred_backend",
            "_get_qengine": "_set_qengine",
            "_check_sparse_tensor_invariants": "_set_check_sparse_tensor_invariants",
            "_get_deterministic_fill_uninitialized_memory": "_set_deterministic_fill_uninitialized_memory",
        }
        getters = [(g, getattr(C, g), getattr(C, s, None)) for g, s in flags.items() if hasattr(C, g)]

        def read_flags() -> tuple[Any, ...]:
            return tuple(get() for _, get, _ in getters)

        def restore_flags(values: tuple[Any, ...]) -> None:
            for (_, get, put), value in zip(getters, values, strict=True):
                if get() != value:
                    if put is None:
                        raise RuntimeError("no setter")
                    put(value)

        opts = vars(torch._tensor_str.PRINT_OPTS)
        settings = [
            Setting("torch grad mode", torch.is_grad_enabled, torch.set_grad_enabled),
            Setting("torch inference mode", torch.is_inference_mode_enabled),
            Setting("torch default dtype", torch.get_default_dtype, torch.set_default_dtype),
            Setting("torch default device", lambda: str(torch.get_default_device()), _default_device(torch)),
            Setting(
                "torch deterministic algorithms",
                lambda: (
                    torch.are_deterministic_algorithms_enabled(),
                    torch.is_deterministic_algorithms_warn_only_enabled(),
                ),
                lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1]),
            ),
            Setting(
                "torch deterministic debug mode",
                torch.get_deterministic_debug_mode,
                torch.set_deterministic_debug_mode,
            ),
            Setting(
                "torch anomaly detection",
                lambda: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
                lambda v: torch.autograd.set_detect_anomaly(v[0], check_nan=v[1]),
            ),
            Setting("torch threads", torch.get_num_threads, torch.set_num_threads),
            Setting("torch inter-op threads", torch.get_num_interop_threads),
            Setting(
                "torch float32 matmul precision",
                torch.get_float32_matmul_precision,
                torch.set_float32_matmul_precision,
            ),
            Setting("torch warn-always", torch.is_warn_always_enabled, torch.set_warn_always),
            Setting(
                "torch autocast",
                lambda: (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")),
                lambda v: (torch.set_autocast_enabled("cpu", v[0]), torch.set_autocast_dtype("cpu", v[1])),
            ),
            Setting("torch print options", lambda: dict(opts), refill(opts)),
            Setting("torch backend flags", read_flags, restore_flags),
            Setting("torch function modes", C._len_torch_function_stack),
            Setting("torch dispatch modes", C._len_torch_dispatch_stack),
            Setting(
                "torch function overrides",
                lambda: (C._is_torch_function_enabled(), C._is_torch_function_all_disabled()),
            ),
            Setting("torch forward-mode AD", C._is_fwd_grad_enabled),
            Setting(
                "torch autograd multithreading", C._is_multithreading_enabled, C._set_multithreading_enabled
            ),
            Setting("torch saved-tensor hooks", C._autograd._saved_tensors_hooks_is_enabled),
            Setting("torch JIT tracing", lambda: C._get_tracing_state() is None),
            Setting("torch functorch transforms", C._functorch.maybe_current_level),
        ]
        # Counters a class keeps for the ids of hook handles: they number a card's hooks from where the
        # last card left them, so they go back to the snapshot's after each card.
        # torch.export numbers what it makes from counters of its own and notes what it saw in tables
        # kept between exports; each goes back to the snapshot's after a card.
        counters = frozenset(
            {
                "torch.utils.hooks.RemovableHandle.next_id",
                "torch._subclasses.meta_utils.DESCRIBER_NEXT_ID",
                "torch.fx.graph_module._loader.next_id",
                "torch.fx.experimental.proxy_tensor._FAKE_TENSOR_ID_TO_PROXY_MAP_FOR_EXPORT",
                "torch.utils._stats.simple_call_counter",
                "torch._library.simple_registry.singleton._data",
            }
        )
        return super().policy() | Policy(settings=tuple(settings), caches=counters)

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


def _default_device(torch: Any) -> Any:
    def restore(device: str) -> None:
        # The worker starts with no default-device mode at all; setting "cpu" would push one.
        torch.set_default_device(None if device == "cpu" else device)

    return restore


ADAPTER = TorchAdapter
