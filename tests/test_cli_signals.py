"""SIGTERM, SIGHUP and SIGINT during a long verb: temp files removed, the
destination untouched, exit 128 + signal; broken pipes end quietly; --json
errors are JSON."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT

import spoolkit
from spoolkit.dasd.sample import fill_volume
from spoolkit.output import temp_pattern

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def busy_volume(tmp_path_factory):
    """A plain 3390 whose bzip2 copy takes seconds on one thread (the signal
    must land well inside it, also on a loaded machine)."""
    path = tmp_path_factory.mktemp("sig") / "busy.3390"
    with spoolkit.create_dasd(path, "3390", "BUSY01", cylinders=200) as d:
        assert fill_volume(d, fraction=1.0, seed=3) > 2700
    return path


def _start_copy(src, dst):
    return subprocess.Popen([sys.executable, "-m", "spoolkit", "dasd", "copy", str(src),
                             str(dst), "--bzip2", "--level", "9", "-j", "1"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_hangup)


def _default_hangup() -> None:
    # under nohup SIGHUP is inherited ignored, and spoolkit rightly leaves it so
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _wait_for_temp(dst, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if glob.glob(temp_pattern(dst)):
            time.sleep(0.3)   # well inside the copy
            return
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    raise AssertionError("the copy never started writing its temporary file")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_during_copy_cleans_up(tmp_path, busy_volume, sig):
    dst = tmp_path / "out.cckd"
    proc = _start_copy(busy_volume, dst)
    _wait_for_temp(dst, proc)
    assert proc.poll() is None, "copy finished before the signal"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    assert not dst.exists()
    assert glob.glob(temp_pattern(dst)) == []


def test_signal_leaves_old_destination_untouched(tmp_path, busy_volume):
    dst = tmp_path / "out.cckd"
    dst.write_bytes(b"the old volume")
    os.chmod(dst, 0o600)
    proc = subprocess.Popen([sys.executable, "-m", "spoolkit", "dasd", "copy",
                             str(busy_volume), str(dst), "--bzip2", "--level", "9", "-j", "1",
                             "--force"], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for_temp(dst, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert dst.read_bytes() == b"the old volume"
    assert glob.glob(temp_pattern(dst)) == []


def test_broken_pipe_is_quiet(tmp_path, busy_volume):
    proc = subprocess.run(f"{sys.executable} -m spoolkit dasd tracks {busy_volume} --json "
                          "| head -c 100 >/dev/null; echo ${PIPESTATUS[0]}",
                          shell=True, executable="/bin/bash", env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert proc.stderr == ""
    assert int(proc.stdout.strip()) in (0, 128 + signal.SIGPIPE)


def test_json_errors_are_json(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "spoolkit", "dasd", "info",
                           str(tmp_path / "missing.3390"), "--json"], env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    data = json.loads(proc.stdout)
    assert "missing.3390" in json.dumps(data) and data["error"]
