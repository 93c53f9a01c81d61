"""Fine-tuning and generation settings for the paper's summarisation datasets. Data only.

Fine-tuning (``bart-large``): fairseq's BART recipe (``examples/bart/README.summarization.md``:
lr 3e-5, 500 warm-up updates, max tokens 2048, Adam (0.9, 0.999), eps 1e-8,
weight decay 0.01, clip 0.1, polynomial decay, label smoothing 0.1, fp16,
8 GPUs: world size and update-freq are pinned so that the global batch stays
8 x update-freq x 2048 tokens on any number of GPUs), CNN/DM 20,000 updates with
update-freq 4, XSum 15,000 with update-freq 2; Reddit
TIFU as the R3F paper reports it (200,000 updates, 5,000 warm-up, lr 3e-5, max
tokens 2048, update-freq 4). Gigaword has no published BART recipe: we use
CNN/DM's.

Generation: CNN/DM and XSum are fairseq's published settings. Gigaword
(headlines of about 8 words) and Reddit TIFU (TL;DRs of about 20 words) have
none published for BART: ours are XSum's, with a shorter maximum for Gigaword.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass(frozen=True)
class FinetuneRecipe:
    total_updates: int
    warmup_updates: int
    lr: float
    max_tokens: int
    update_freq: int  # at the profile's GPUs


@dataclass(frozen=True)
class Generation:
    beam: int
    lenpen: float
    max_len_b: int
    min_len: int
    no_repeat_ngram_size: int = 3


BART_LARGE: Dict[str, FinetuneRecipe] = {
    "cnn_dm": FinetuneRecipe(20000, 500, 3e-5, 2048, 4),
    "xsum": FinetuneRecipe(15000, 500, 3e-5, 2048, 2),
    "gigaword": FinetuneRecipe(20000, 500, 3e-5, 2048, 4),
    "reddit_tifu": FinetuneRecipe(200000, 5000, 3e-5, 2048, 4),
}

GENERATION: Dict[str, Generation] = {
    "cnn_dm": Generation(beam=4, lenpen=2.0, max_len_b=140, min_len=55),
    "xsum": Generation(beam=6, lenpen=1.0, max_len_b=60, min_len=10),
    "gigaword": Generation(beam=6, lenpen=1.0, max_len_b=30, min_len=1),
    "reddit_tifu": Generation(beam=6, lenpen=1.0, max_len_b=60, min_len=10),
}


@dataclass(frozen=True)
class Profile:
    """A model for summarisation: its flags, where its weights come from, the GPUs its recipe assumes."""
    name: str
    flags: List[str] = field(default_factory=list)
    pretrained_required: bool = True  # False: random initialisation (smoke tests)
    gpus: int = 0  # the GPUs the recipe's update-freq is for (0: CPU); world size and update-freq are pinned
    download: str = ""

    def distributed_flags(self, update_freq: int, gpus: Optional[int] = None) -> List[str]:
        if not self.gpus:
            return ["--distributed-world-size", "1", "--update-freq", str(update_freq)]
        from r3f_fairseq.experiments.runs import pinned_world

        return pinned_world(self.gpus, update_freq, gpus)


# fairseq's BART recipe runs on 8 GPUs (examples/bart/README.summarization.md: CUDA_VISIBLE_DEVICES=0,...,7)
BART_LARGE_PROFILE = Profile(
    "bart-large", ["--arch", "bart_large", "--layernorm-embedding", "--fp16", "--find-unused-parameters"], gpus=8,
    download="fairseq's bart.large (https://dl.fbaipublicfiles.com/fairseq/models/bart.large.tar.gz: "
             "bart.large/model.pt)")
# a randomly initialised 1+1-layer BART for smoke tests
TINY_CPU_PROFILE = Profile(
    "tiny-cpu", ["--arch", "bart_base", "--encoder-layers", "1", "--decoder-layers", "1",
                 "--encoder-embed-dim", "32", "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64",
                 "--decoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2", "--decoder-attention-heads", "2",
                 "--max-source-positions", "1024", "--max-target-positions", "1024", "--cpu"],
    pretrained_required=False)
PROFILES: Dict[str, Profile] = {p.name: p for p in (BART_LARGE_PROFILE, TINY_CPU_PROFILE)}
DEFAULT_PROFILE = BART_LARGE_PROFILE.name

# method -> criterion flags (the R3F paper sweeps lambda and the noise type; pass them after "--")
METHODS: Dict[str, List[str]] = {
    "std": ["--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1"],
    "r3f": ["--criterion", "label_smoothed_cross_entropy_r3f", "--label-smoothing", "0.1",
            "--eps", "1e-5", "--noise-type", "normal", "--r3f-lambda", "1.0"],
}
