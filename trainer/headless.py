"""`python -m trainer train config.yaml [--run-dir DIR]`: one run from a shell.

Same train() as the worker. Events go to <run-dir>/events.jsonl (the same
lines the server would write) and a progress bar goes to stderr. The run
folder also gets config.json in the server's shape, so the UI can list it.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from trainer import config as configs
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

    source = args.config.read_text()
    try:
        config = configs.resolve(yaml.safe_load(source) or {})
    except configs.ConfigError as error:
        print(f"{args.config}: {error}", file=sys.stderr)
        return 2

    now = datetime.now(timezone.utc)
    run_dir = args.run_dir or Path("runs") / new_run_id(now)
    run_dir.mkdir(parents=True, exist_ok=True)
    stored = {"id": run_dir.name, "notebook": "", "cell": "", "created": now.timestamp(), "source": source, "config": config}
    (run_dir / "config.json").write_text(json.dumps(stored, indent=2) + "\n")
    print(f"run folder: {run_dir}", file=sys.stderr)

    progress = ProgressBar()
    outcome = {}
    with open(run_dir / "events.jsonl", "a", encoding="utf-8") as log:

        def emit(event: dict) -> None:
            log.write(json.dumps(event) + "\n")
            log.flush()  # a killed run loses nothing already reported
            progress(event)
            outcome["type"] = event["type"]

        train(config, run_dir.resolve(), EventRecords(emit))
    return 0 if outcome.get("type") == "finished" else 1
