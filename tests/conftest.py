import os
import pathlib

# The in-process tests run tiny models, for which two threads cost more in
# synchronisation than they gain (measured: test_smart + test_freelb 70 s with
# 2 threads, 43 s with 1). Set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

from tests import helpers  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """../shared/data (or $R3F_SHARED_DATA). Missing data fails under CI=true."""
    path = pathlib.Path(os.environ.get("R3F_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (path / "glue").is_dir():
        message = f"real data not found at {path} (set R3F_SHARED_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def bpe_dir(shared_data) -> str:
    return str(shared_data / "gpt2_bpe")


@pytest.fixture(scope="session")
def rte_bin(shared_data, bpe_dir, tmp_path_factory) -> str:
    """The first 64 train and dev examples of the real RTE, BPE'd and binarised."""
    from r3f_fairseq.data.prepare_glue import prepare_task

    out = tmp_path_factory.mktemp("glue")
    return prepare_task("RTE", str(shared_data / "glue"), bpe_dir, str(out), workers=1, limit=64)


@pytest.fixture(scope="session")
def stsb_bin(shared_data, bpe_dir, tmp_path_factory) -> str:
    from r3f_fairseq.data.prepare_glue import prepare_task

    out = tmp_path_factory.mktemp("glue")
    return prepare_task("STS-B", str(shared_data / "glue"), bpe_dir, str(out), workers=1, limit=32)


@pytest.fixture(scope="session")
def cnn_dm_bin(shared_data, bpe_dir, tmp_path_factory) -> str:
    """The real CNN/DM test sample (42 pairs): 34 for train, 8 for valid, binarised for BART."""
    from r3f_fairseq.data.summarization import prepare_bart_binaries, read_parallel

    root = shared_data / "summarization" / "cnn_dm"
    sources, targets = read_parallel(str(root / "test_sample_42.source"), str(root / "test_sample_42.target"))
    splits = {"train": (sources[:34], targets[:34]), "valid": (sources[34:], targets[34:])}
    return prepare_bart_binaries(splits, bpe_dir, str(tmp_path_factory.mktemp("cnn_dm")))


@pytest.fixture
def tiny_bart(cnn_dm_bin):
    """Builder of a tiny BART + criterion on the CNN/DM sample through fairseq's parser."""
    return lambda *extra: helpers.build(cnn_dm_bin, *helpers.TINY_BART, *extra)


@pytest.fixture
def tiny_roberta(rte_bin):
    """Builder of a tiny RoBERTa + criterion on RTE through fairseq's own parser."""
    return lambda *extra: helpers.build(rte_bin, *helpers.TINY_ROBERTA, "--num-classes", "2", *extra)
