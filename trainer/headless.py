"""`python -m trainer train config.yaml [--run-dir DIR]`: one run from a shell.

Same train() as the worker. Events go to <run-dir>/events.jsonl (the same
lines the server would write) and a progress bar goes to stderr. The run
folder also gets config.json in the server's shape, so the UI can list it.

Under `accelerate launch --multi_gpu --num_processes N -m trainer train
config.yaml` it is one of N processes (trainer/distributed.py): they share one
run folder, named by the main process, which alone writes to it; the others
report only their own failure, on stderr.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from ruamel.yaml import YAML, YAMLError

from trainer import config as configs
from trainer import distributed
from trainer.events import EventRecords
from trainer.train import train


def new_run_id(now: datetime) -> str:
    """The server's run id format: 20250101-120000-a1b2c3."""
    return f"{now.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


class ProgressBar:
    """One terminal line: step/total, loss, lr, it/s."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream = stream
        self.width = width

    def __call__(self, event: dict) -> None:
        match event["type"]:
            case "started":
                print(f"training {event['total']} steps on {event['device']}, {event['trainable_params']:,} trainable parameters", file=self.stream)
            case "step":
                done = int(self.width * event["step"] / event["total"])
                rate = event["step"] / event["seconds"] if event["seconds"] > 0 else 0.0
                bar = "#" * done + "-" * (self.width - done)
                print(f"\r[{bar}] {event['step']}/{event['total']}  loss {event['loss']:.4f}  lr {event['lr']:.2e}  {rate:.1f} it/s", end="", file=self.stream, flush=True)
            case "finished":
                print(f"\nfinished {event['step']} steps in {event['seconds']:.1f} s; adapter: {event['adapter']}", file=self.stream)
            case "failed":
                print(f"\nfailed at step {event.get('step', 0)}: {event['error']}", file=self.stream)
            case "cancelled":
                print(f"\ncancelled after step {event['step']}", file=self.stream)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer train", description="Train one adapter from a YAML config (a train cell's body).")
    parser.add_argument("config", type=Path, help="YAML file; omitted fields take the schema's defaults")
    parser.add_argument("--run-dir", type=Path, help="run folder (default: runs/<timestamp>)")
    args = parser.parse_args(argv)
    processes = distributed.join()
    try:
        return run(args.config, args.run_dir, processes)
    finally:
        distributed.leave()


def read_yaml(source: str) -> dict:
    """YAML 1.2, as the server and the editor read it: `no` and `off` stay strings (YAML 1.1 made them false)."""
    try:
        document = YAML(typ="safe", pure=True).load(source)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise configs.ConfigError(f"{where}not valid YAML ({getattr(error, 'problem', None) or error})") from None
    if document is not None and not isinstance(document, dict):
        raise configs.ConfigError(f"the config is a YAML {type(document).__name__}, not a mapping of sections (model, method, ...)")
    return document or {}


def run(config_file: Path, run_dir: Path | None, processes: distributed.Processes) -> int:
    source = config_file.read_text()
    try:
        config = configs.resolve(read_yaml(source))
        if processes.count > 1 and config["training"]["cache_latents"] == "off":
            # Its pixel loader reads whole batches in one process's order; the shares would need a loader each.
            raise configs.ConfigError(f"training.cache_latents: 'off' runs in one process only, not {processes.count}; use memory or disk")
    except configs.ConfigError as error:
        if processes.is_main:
            print(f"{config_file}: {error}", file=sys.stderr)
        return 2

    now = datetime.now(timezone.utc)
    run_dir = processes.from_main(run_dir or Path("runs") / new_run_id(now))
    if processes.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        stored = {"id": run_dir.name, "notebook": "", "cell": "", "created": now.timestamp(), "source": source, "config": config}
        (run_dir / "config.json").write_text(json.dumps(stored, indent=2) + "\n")
        print(f"run folder: {run_dir}" + (f" ({processes.count} processes)" if processes.count > 1 else ""), file=sys.stderr)

    progress = ProgressBar()
    outcome = {}
    log = open(run_dir / "events.jsonl", "a", encoding="utf-8") if processes.is_main else None

    def emit(event: dict) -> None:
        outcome["type"] = event["type"]
        if log:
            log.write(json.dumps(event) + "\n")
            log.flush()  # a killed run loses nothing already reported
            progress(event)
        elif event["type"] == "failed":
            print(f"process {processes.rank} failed: {event['error']}", file=sys.stderr)

    try:
        train(config, run_dir.resolve(), EventRecords(emit), processes=processes)
    finally:
        if log:
            log.close()
    return 0 if outcome.get("type") == "finished" else 1
