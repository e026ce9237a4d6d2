"""Atomic writes, without root: a rename that fails leaves the old file and no temporary file."""

import errno
import os

import pytest

from gan_core import run_files


@pytest.mark.parametrize("failure", ["rename", "write"])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch, failure):
    target = tmp_path / "history.json"
    target.write_text("the old, complete file\n")

    def fail(*args, **kwargs):
        raise OSError(errno.EIO, "simulated I/O error")

    if failure == "rename":
        monkeypatch.setattr(os, "replace", fail)
    else:
        monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="simulated I/O error"):
        run_files.write_json(target, {"epochs": [1, 2, 3]})
    assert target.read_text() == "the old, complete file\n"
    assert [path.name for path in tmp_path.iterdir()] == ["history.json"]


def test_a_successful_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "config.json"
    target.write_text("old")
    run_files.write_json(target, {"latent_size": 64})
    assert target.read_text() == '{\n  "latent_size": 64\n}\n'
    assert [path.name for path in tmp_path.iterdir()] == ["config.json"]
