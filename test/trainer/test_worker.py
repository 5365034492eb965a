"""The worker process end to end, as the server drives it: commands on stdin, JSON lines on fd 3."""

import json
import os
import queue
import subprocess
import sys
import threading

import pytest

from conftest import REPO

TIMEOUT = 60
SMALL = {"data": {"images": 4}, "training": {"batch_size": 2}}


class WorkerProcess:
    def __init__(self):
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trainer", "worker"],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            close_fds=False,  # our fds are non-inheritable (PEP 446); only the dup2'd fd 3 passes
            preexec_fn=lambda: os.dup2(write, 3),
        )
        os.close(write)
        self.raw_lines: list[str] = []
        self.messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(os.fdopen(read, encoding="utf-8"),), daemon=True).start()
        # stdout/stderr are drained so the worker never blocks on a full pipe.
        self.output: list[str] = []
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=lambda s=stream: self.output.extend(s), daemon=True).start()

    def _read(self, channel):
        for line in channel:
            self.raw_lines.append(line)
            self.messages.put(json.loads(line))  # anything but JSON fails the test below
        self.messages.put(None)

    def send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def next(self) -> dict:
        message = self.messages.get(timeout=TIMEOUT)
        assert message is not None, f"fd 3 closed; worker output:\n{''.join(self.output)[-3000:]}"
        return message

    def until_idle(self) -> list[dict]:
        """Events of one run, up to its idle message."""
        events = []
        while (message := self.next())["type"] != "idle":
            assert message["type"] == "event", message
            events.append(message)
        return events


@pytest.fixture(scope="module")
def worker():
    w = WorkerProcess()
    yield w
    if w.proc.poll() is None:
        w.proc.kill()


def test_ready_first(worker):
    assert worker.next() == {"type": "ready"}


def test_a_run(worker, tmp_path):
    run_dir = tmp_path / "run-1"
    worker.send({"type": "run", "run_id": "run-1", "run_dir": str(run_dir), "config": {**SMALL, "training": {**SMALL["training"], "max_steps": 5}}})
    messages = worker.until_idle()
    assert {m["run_id"] for m in messages} == {"run-1"}
    events = [m["event"] for m in messages]
    assert [e["type"] for e in events] == ["started"] + ["step"] * 5 + ["finished"]
    assert events[0]["device"] == "cpu" and events[0]["total"] == 5
    assert [e["step"] for e in events[1:6]] == [1, 2, 3, 4, 5]
    assert all(isinstance(e["time"], float) for e in events)
    assert events[-1]["adapter"] == "adapter.safetensors"
    assert (run_dir / "adapter.safetensors").is_file()
    # What libraries printed went to the run's log, not to the protocol channel.
    assert (run_dir / "log.txt").is_file() and (run_dir / "log.txt").stat().st_size > 0


def test_cancel_while_training(worker, tmp_path):
    worker.send({"type": "run", "run_id": "run-2", "run_dir": str(tmp_path), "config": {**SMALL, "training": {**SMALL["training"], "max_steps": 100000}}})
    assert worker.next()["event"]["type"] == "started"
    assert worker.next()["event"]["type"] == "step"
    worker.send({"type": "cancel", "run_id": "run-2"})
    events = [m["event"] for m in worker.until_idle()]
    assert events[-1]["type"] == "cancelled" and [e["type"] for e in events[:-1]] == ["step"] * len(events[:-1])
    assert events[-1]["step"] < 100000
    assert (tmp_path / "state" / "state.pt").is_file()  # resumable from where it stopped


def test_dataloader_workers_inside_the_worker(worker, tmp_path):
    """Forked loader processes hung after one batch in here (the worker has threads of its own); spawned ones finish."""
    training = {**SMALL["training"], "max_steps": 3, "cache_latents": "off", "dataloader_workers": 2}
    worker.send({"type": "run", "run_id": "run-loaders", "run_dir": str(tmp_path), "config": {**SMALL, "training": training}})
    events = [m["event"] for m in worker.until_idle()]
    assert events[-1]["type"] == "finished", events[-1]


def test_bad_input_never_kills_the_worker(worker, tmp_path):
    worker.proc.stdin.write("this is not json\n{\"no\": \"type\"}\n")
    worker.send({"type": "dance"})
    worker.send({"type": "run", "run_id": "run-3", "run_dir": str(tmp_path), "config": {"method": {"rank": 0}}})
    events = [m["event"] for m in worker.until_idle()]
    assert [e["type"] for e in events] == ["failed"]
    assert "method.rank" in events[0]["error"]


def test_shutdown_exits_cleanly(worker):
    worker.send({"type": "shutdown"})
    assert worker.proc.wait(timeout=TIMEOUT) == 0
    assert worker.messages.get(timeout=TIMEOUT) is None  # nothing after the last idle
    assert all(json.loads(line)["type"] in {"ready", "event", "idle"} for line in worker.raw_lines)
    assert "ignored" in "".join(worker.output)  # the malformed commands were logged to stderr
