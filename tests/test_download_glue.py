"""GLUE download: the local-directory path, MRPC built from Microsoft's raw files, a mirror."""

import filecmp
import subprocess
import sys
import zipfile

import pytest

from r3f_fairseq.data import download_glue


def test_from_dir_copies_tasks_already_in_glue_layout(shared_data, tmp_path):
    for task in ("RTE", "CoLA", "STS-B"):
        out = download_glue.fetch_task(task, str(tmp_path), from_dir=str(shared_data / "glue"))
        for name in ("train.tsv", "dev.tsv"):
            assert filecmp.cmp(shared_data / "glue" / task / name, f"{out}/{name}", shallow=False)


def test_mrpc_is_built_from_the_raw_microsoft_files_exactly_as_glue_ships_it(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    mrpc = shared_data / "glue" / "MRPC"
    for name in ("msr_paraphrase_train.txt", "msr_paraphrase_test.txt"):
        (raw / name).symlink_to(mrpc / name)
    (raw / "mrpc_dev_ids.tsv").symlink_to(mrpc / "dev_ids.tsv")
    out = download_glue.fetch_task("MRPC", str(tmp_path / "glue"), from_dir=str(raw))
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        assert filecmp.cmp(mrpc / name, f"{out}/{name}", shallow=False), name


def test_mirror_downloads_and_unpacks_the_official_zip(shared_data, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with zipfile.ZipFile(mirror / "RTE.zip", "w") as z:
        for name in ("train.tsv", "dev.tsv", "test.tsv"):
            z.write(shared_data / "glue" / "RTE" / name, f"RTE/{name}")
    out = download_glue.fetch_task("RTE", str(tmp_path / "glue"), mirror=mirror.as_uri())
    assert filecmp.cmp(shared_data / "glue" / "RTE" / "dev.tsv", f"{out}/dev.tsv", shallow=False)
    assert sorted(p.name for p in (tmp_path / "glue").iterdir()) == ["RTE"]  # no download left behind


def test_missing_local_files_are_an_error_naming_the_flag(shared_data, tmp_path):
    # ../shared/data/glue has only a QQP train subset: no train.tsv/dev.tsv, no QQP-clean.zip
    with pytest.raises(FileNotFoundError, match=r"--from-dir .*: no QQP/ directory with train.tsv, dev.tsv"):
        download_glue.fetch_task("QQP", str(tmp_path), from_dir=str(shared_data / "glue"))


@pytest.mark.parametrize("argv, message", [
    (["NOPE"], "unknown GLUE task 'NOPE'"),
    (["--from-dir", "/nonexistent", "RTE"], "--from-dir /nonexistent: no such directory"),
])
def test_cli_rejects_bad_input(argv, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "r3f_fairseq.data.download_glue", "--out-dir", str(tmp_path), *argv],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr
