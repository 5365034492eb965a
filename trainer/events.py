"""What a training run reports, and the one place its wire shape is written.

The trainer knows nothing of its caller (minGPT's callbacks): it calls these
methods; the worker sends them to the server, the headless CLI writes them to
events.jsonl. Field names are core/src/protocol.ts's, snake_case.
"""

from __future__ import annotations

import time
from typing import Callable


class Events:
    """A run's observer. Subclasses override what they need; the defaults do nothing."""

    def started(self, total: int, trainable_params: int, device: str, resumed_from: int | None = None, lr_groups: list[str] | None = None, started_from: dict | None = None, compiling: str | None = None) -> None:
        """`lr_groups`: the optimizer's param group names, in the order step events list their LRs;
        `started_from`: what method.start_from loaded (Adapter.start_from); `compiling`: the torch.compile
        backend the first step waits for (training.torch_compile)."""

    def step(self, step: int, total: int, loss: float, lr: float, seconds: float, **measures) -> None:
        """One optimizer step done. `step` is 1-based; `lr` the rate its update used (of the first param
        group); `seconds` since training started. `measures` are the further fields of
        core/src/protocol.ts's StepEvent: lrs, effective_lrs, grad_norm, step_seconds,
        images_per_second, rss_bytes, cuda_max_allocated_bytes."""

    def sample(self, step: int, images: list[dict]) -> None:
        """`images`: [{"file": path in the run folder, "prompt": ..., "seed": ...}]."""

    def eval(self, step: int, fidelity: float, retention: float | None, base_score: float) -> None:
        """Evaluator scores: fidelity on the new concept's prompts, retention = base-prompt score / the base model's."""

    def finished(self, step: int, seconds: float, adapter: str) -> None: ...

    def failed(self, error: str, step: int | None) -> None: ...

    def cancelled(self, step: int) -> None: ...

    def should_stop(self) -> bool:
        """Polled between optimizer steps: True ends the run with a cancelled event."""
        return False


class EventRecords(Events):
    """Turns each event into its wire dict ({"type": ..., "time": ..., fields}) and hands it to `emit`."""

    def __init__(self, emit: Callable[[dict], None], should_stop: Callable[[], bool] = lambda: False):
        self._emit = emit
        self._should_stop = should_stop

    def _record(self, type: str, **fields) -> None:
        self._emit({"type": type, "time": time.time(), **{k: v for k, v in fields.items() if v is not None}})

    def started(self, total, trainable_params, device, resumed_from=None, lr_groups=None, started_from=None, compiling=None):
        self._record("started", total=total, trainable_params=trainable_params, device=device, resumed_from=resumed_from, lr_groups=lr_groups, started_from=started_from, compiling=compiling)

    def step(self, step, total, loss, lr, seconds, **measures):
        self._record("step", step=step, total=total, loss=loss, lr=lr, seconds=seconds, **measures)

    def sample(self, step, images):
        self._record("sample", step=step, images=images)

    def eval(self, step, fidelity, retention, base_score):
        self._record("eval", step=step, fidelity=fidelity, retention=retention, base_score=base_score)

    def finished(self, step, seconds, adapter):
        self._record("finished", step=step, seconds=seconds, adapter=adapter)

    def failed(self, error, step):
        self._record("failed", error=error, step=step)

    def cancelled(self, step):
        self._record("cancelled", step=step)

    def should_stop(self) -> bool:
        return self._should_stop()
