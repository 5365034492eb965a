"""`python -m trainer <command>`: worker (for the server) or train (headless)."""

import os
import sys

# Never reach for the Hugging Face Hub: models are folders on disk. Set before
# huggingface_hub is imported, which reads it once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

USAGE = """usage: python -m trainer <command>

commands:
  worker                          long-lived process driven by the server (see trainer/worker.py)
  train CONFIG.yaml [--run-dir D] one run from a shell, events to D/events.jsonl

several processes (GPUs), gradients averaged between them:
  accelerate launch --multi_gpu --num_processes N -m trainer train CONFIG.yaml"""


def main(argv: list[str]) -> int:
    match argv[:1]:
        case ["worker"]:
            from trainer import worker

            return worker.main()
        case ["train"]:
            from trainer import headless

            return headless.main(argv[1:])
        case _:
            print(USAGE, file=sys.stderr)
            return 0 if argv[:1] in (["-h"], ["--help"]) else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
