"""fairseq's copies of a saved checkpoint to its other names are atomic (compat.py, fix 5)."""

import inspect
import shutil

import pytest
from fairseq import checkpoint_utils

import r3f_fairseq  # noqa: F401  (applies compat)


def _killed_midway(src, dst, **kwargs):
    """shutil.copyfile cut off by a kill: half the bytes reach the destination."""
    with open(src, "rb") as f, open(dst, "wb") as out:
        data = f.read()
        out.write(data[: len(data) // 2])
    raise KeyboardInterrupt


@pytest.fixture
def checkpoints(tmp_path):
    saved, last = tmp_path / "checkpoint_1_60.pt", tmp_path / "checkpoint_last.pt"
    saved.write_bytes(b"new checkpoint " * 1000)
    last.write_bytes(b"old checkpoint " * 1000)
    return saved, last


def test_fairseq_copies_the_saved_checkpoint_through_the_patched_path_manager():
    assert "PathManager.copy(" in inspect.getsource(checkpoint_utils.save_checkpoint)
    assert checkpoint_utils.PathManager._r3f_patched


def test_a_copy_cut_off_midway_leaves_the_old_checkpoint_whole(checkpoints, monkeypatch):
    saved, last = checkpoints
    monkeypatch.setattr(shutil, "copyfile", _killed_midway)
    with pytest.raises(KeyboardInterrupt):
        checkpoint_utils.PathManager.copy(str(saved), str(last), overwrite=True)
    assert last.read_bytes() == b"old checkpoint " * 1000
    assert sorted(p.name for p in last.parent.iterdir()) == [saved.name, last.name]  # no .tmp left


def test_a_finished_copy_replaces_the_checkpoint(checkpoints):
    saved, last = checkpoints
    assert checkpoint_utils.PathManager.copy(str(saved), str(last), overwrite=True)
    assert last.read_bytes() == saved.read_bytes()
