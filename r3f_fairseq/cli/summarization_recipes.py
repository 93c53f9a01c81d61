"""Fine-tuning and generation settings for the paper's summarisation datasets. Data only.

Fine-tuning (``bart-large``): fairseq's BART recipe (``examples/bart/README.summarization.md``:
lr 3e-5, 500 warm-up updates, max tokens 2048, Adam (0.9, 0.999), eps 1e-8,
weight decay 0.01, clip 0.1, polynomial decay, label smoothing 0.1, fp16),
CNN/DM 20,000 updates with update-freq 4, XSum 15,000 with update-freq 2; Reddit
TIFU as the R3F paper reports it (200,000 updates, 5,000 warm-up, lr 3e-5, max
tokens 2048, update-freq 4). Gigaword has no published BART recipe: we use
CNN/DM's.

Generation: CNN/DM and XSum are fairseq's published settings. Gigaword
(headlines of about 8 words) and Reddit TIFU (TL;DRs of about 20 words) have
none published for BART: ours are XSum's, with a shorter maximum for Gigaword.
"""

from dataclasses import dataclass
from typing import Dict, List


@dataclass(frozen=True)
class FinetuneRecipe:
    total_updates: int
    warmup_updates: int
    lr: float
    max_tokens: int
    update_freq: int


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

# model flags per profile; tiny-cpu is a randomly initialised 1+1-layer BART for smoke tests
PROFILE_FLAGS: Dict[str, List[str]] = {
    "bart-large": ["--arch", "bart_large", "--layernorm-embedding", "--fp16", "--find-unused-parameters"],
    "tiny-cpu": ["--arch", "bart_base", "--encoder-layers", "1", "--decoder-layers", "1",
                 "--encoder-embed-dim", "32", "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64",
                 "--decoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2", "--decoder-attention-heads", "2",
                 "--max-source-positions", "1024", "--max-target-positions", "1024", "--cpu"],
}

# method -> criterion flags (the R3F paper sweeps lambda and the noise type; pass them after "--")
METHODS: Dict[str, List[str]] = {
    "std": ["--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1"],
    "r3f": ["--criterion", "label_smoothed_cross_entropy_r3f", "--label-smoothing", "0.1",
            "--eps", "1e-5", "--noise-type", "normal", "--r3f-lambda", "1.0"],
}
