import pytest
"""Data-parallel fine-tuning on CPU: 2 processes under torchrun (gloo), as users scale out."""

import os
import socket
import sys

from tests.helpers import TINY_ROBERTA, USER_DIR, json_logs, run_cli

COMMON = [
    *TINY_ROBERTA, "--num-classes", "2", "--user-dir", USER_DIR, "--cpu", "--seed", "1",
    "--criterion", "sentence_prediction_r3f", "--eps", "1e-3", "--optimizer", "adam", "--lr", "1e-3",
    "--batch-size", "4", "--log-format", "json", "--log-interval", "1", "--no-epoch-checkpoints",
    "--dropout", "0", "--attention-dropout", "0", "--pooler-dropout", "0",
]
DDP = ["--ddp-backend", "legacy_ddp", "--distributed-no-spawn", "--distributed-backend", "gloo",
       "--distributed-world-size", "2"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_train(*args):
    fairseq_train = os.path.join(os.path.dirname(sys.executable), "fairseq-train")
    return run_cli("torchrun", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
                   "--master_port", str(free_port()), fairseq_train, *args)


@pytest.mark.slow
def test_two_processes_match_one_process_on_the_same_global_batch_and_restore(rte_bin, tmp_path):
    """2 workers x batch 4 == 1 worker x batch 4 x --update-freq 2 (the same 8 examples per update)."""
    single = run_cli("fairseq-train", rte_bin, *COMMON, "--update-freq", "2", "--max-update", "3",
                     "--save-dir", str(tmp_path / "single"))
    ddp = torchrun_train(rte_bin, *COMMON, *DDP, "--max-update", "3", "--save-dir", str(tmp_path / "ddp"))
    one, two = json_logs(single, "train_inner"), json_logs(ddp, "train_inner")
    assert [r["bsz"] for r in two] == [8, 8, 8]
    for key in ("loss", "nll_loss", "accuracy"):  # as logged (3 decimals); noise differs per worker
        assert [r[key] for r in one] == [r[key] for r in two], key
    assert all(r["symm_kl"] > 0 for r in two)

    resumed = torchrun_train(rte_bin, *COMMON, *DDP, "--max-update", "5", "--save-dir", str(tmp_path / "ddp"))
    assert "Loaded checkpoint" in resumed and "@ 3 updates" in resumed
    assert [int(r["num_updates"]) for r in json_logs(resumed, "train_inner")] == [4, 5]


def with_criterion(criterion, *flags):
    """COMMON with another criterion (and its flags) instead of R3F."""
    r3f = COMMON.index("sentence_prediction_r3f")
    return [*COMMON[:r3f], criterion, *COMMON[r3f + 3:], *flags]  # drops "--eps 1e-3"


C10D = ["--ddp-backend", "c10d", "--find-unused-parameters", *DDP[2:]]  # RoBERTa's LM head is unused


@pytest.mark.slow
def test_freelb_and_smart_train_data_parallel_with_pytorch_ddp(rte_bin, tmp_path):
    """FreeLB's K backward passes (gradients synchronised once) and SMART's ascent passes under
    PyTorch's DistributedDataParallel: FreeLB from a zero perturbation matches one process."""
    freelb = with_criterion("sentence_prediction", "--task", "sentence_prediction_freelb",
                            "--adv-steps", "2", "--adv-init-mag", "0", "--adv-lr", "0.1")
    single = run_cli("fairseq-train", rte_bin, *freelb, "--update-freq", "2", "--max-update", "3",
                     "--save-dir", str(tmp_path / "single"))
    ddp = torchrun_train(rte_bin, *freelb, *C10D, "--max-update", "3", "--save-dir", str(tmp_path / "ddp"))
    one, two = json_logs(single, "train_inner"), json_logs(ddp, "train_inner")
    assert [r["bsz"] for r in two] == [8, 8, 8]
    for key in ("loss", "accuracy"):
        assert [r[key] for r in one] == [r[key] for r in two], key

    smart = with_criterion("sentence_prediction_smart", "--smart-eps", "1e-2", "--smart-mu", "1")
    ddp = torchrun_train(rte_bin, *smart, *C10D, "--max-update", "3", "--save-dir", str(tmp_path / "smart"))
    logs = json_logs(ddp, "train_inner")
    assert [r["bsz"] for r in logs] == [8, 8, 8]
    assert all(r["smart_adv"] > 0 for r in logs)
