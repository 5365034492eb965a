"""The long-lived trainer process the server supervises: `python -m trainer worker`.

Channels (the server spawns it with stdio ['pipe', 'pipe', 'pipe', 'pipe']):

    stdin    commands, JSON lines: run | cancel | shutdown (EOF = shutdown)
    fd 3     the protocol channel, JSON lines written only by this module:
             ready, event (one per run event), idle
    stdout   free for libraries; while a run trains, fds 1 and 2 point at
    stderr   <run_dir>/log.txt, so nothing a library prints reaches fd 3

Messages (snake_case, discriminated by "type"):

    -> {"type": "run", "run_id": "...", "run_dir": "/abs/runs/<id>", "config": {...}}
    -> {"type": "cancel", "run_id": "..."}
    -> {"type": "shutdown"}
    <- {"type": "ready"}                                   once, after imports
    <- {"type": "event", "run_id": "...", "event": {...}}  started, step..., then
                                                           exactly one of finished | failed | cancelled
    <- {"type": "idle"}                                    after each run's terminal event

Base models stay loaded between runs (the second run skips loading), one
model at a time: a real SDXL is several GB.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import torch

from trainer import config as configs
from trainer import models
from trainer.events import EventRecords
from trainer.train import train

PROTOCOL_FD = 3
TERMINAL = {"finished", "failed", "cancelled"}


class ModelCache:
    """The last base model loaded, kept for the next run that asks for the same folder."""

    def __init__(self):
        self._key: tuple[Path, str, torch.dtype] | None = None
        self._model: models.BaseModel | None = None

    def load(self, name: str, device: torch.device, dtype: torch.dtype) -> models.BaseModel:
        key = (models.resolve(name), str(device), dtype)
        if key != self._key:
            self._model = None  # free the old one before loading the next
            self._model = models.load(name, device, dtype)
            self._key = key
        return self._model


class Commands:
    """Reads stdin on a background thread, so a cancel arrives while a run trains."""

    def __init__(self, stdin: IO[str]):
        self.queue: queue.Queue[dict] = queue.Queue()
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, args=(stdin,), daemon=True, name="commands").start()

    def _read(self, stdin: IO[str]) -> None:
        for line in stdin:
            if not line.strip():
                continue
            try:
                command = json.loads(line)
                kind = command["type"]
            except (ValueError, KeyError, TypeError):
                print(f"worker: ignored a command that is not a JSON object with a type: {line.strip()[:200]}", file=sys.stderr, flush=True)
                continue
            if kind == "cancel":
                # Set here, not queued: the main thread is busy training.
                with self._lock:
                    self._cancelled.add(str(command.get("run_id")))
            elif kind in ("run", "shutdown"):
                self.queue.put(command)
            else:
                print(f"worker: ignored unknown command type {kind!r}; known: run, cancel, shutdown", file=sys.stderr, flush=True)
        self.queue.put({"type": "shutdown"})  # EOF: the server is gone

    def is_cancelled(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._cancelled

    def forget(self, run_id: str) -> None:
        with self._lock:
            self._cancelled.discard(run_id)


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Point OS-level fds 1 and 2 at `log` (append), for C code and subprocesses too; restore after."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)


class Worker:
    def __init__(self, protocol: IO[str], stdin: IO[str]):
        self.protocol = protocol
        self.commands = Commands(stdin)
        self.models = ModelCache()

    def send(self, message: dict) -> None:
        self.protocol.write(json.dumps(message) + "\n")
        self.protocol.flush()

    def serve(self) -> None:
        self.send({"type": "ready"})
        while True:
            command = self.commands.queue.get()
            if command["type"] == "shutdown":
                return
            self.run(command)

    def run(self, command: dict) -> None:
        run_id = command.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            print(f"worker: ignored a run command without a run_id: {json.dumps(command)[:200]}", file=sys.stderr, flush=True)
            return
        terminal = []

        def emit(event: dict) -> None:
            if event["type"] in TERMINAL:
                terminal.append(event["type"])
            self.send({"type": "event", "run_id": run_id, "event": event})

        events = EventRecords(emit, should_stop=lambda: self.commands.is_cancelled(run_id))
        try:
            run_dir = command.get("run_dir")
            if not isinstance(run_dir, str) or not os.path.isabs(run_dir):
                raise configs.ConfigError(f"run_dir: must be an absolute path, got {run_dir!r}")
            run_dir = Path(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            config = configs.resolve(command.get("config"))  # validated again: the worker trusts no caller
            with output_to(run_dir / "log.txt"):
                train(config, run_dir, events, load_model=self.models.load)
        except Exception as error:
            if not terminal:
                events.failed(error=str(error) if isinstance(error, configs.ConfigError) else f"{type(error).__name__}: {error}", step=None)
        finally:
            if not terminal:  # train() always ends in one; this is the last guard of the protocol
                events.failed(error="the run ended without a result", step=None)
            self.commands.forget(run_id)
            self.send({"type": "idle"})


def main() -> int:
    try:
        protocol = os.fdopen(PROTOCOL_FD, "w", buffering=1, encoding="utf-8")
    except OSError:
        print(f"worker: file descriptor {PROTOCOL_FD} is not open; the worker writes its protocol there (see trainer/worker.py)", file=sys.stderr)
        return 2
    Worker(protocol, sys.stdin).serve()
    return 0
