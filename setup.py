"""r3f-fairseq: R3F/R4F fine-tuning (Aghajanyan et al., 2020) as fairseq plugins.

Why the fairseq pins look the way they do is explained in
docs/installation.md: the official fairseq 0.12.2 wheel cannot be imported on
Python >= 3.11, so each interpreter gets the patched 0.12 build that installs
on it. torch is deliberately not pinned here: install it first (see
scripts/setup_env.sh) so that pip never resolves a different, multi-GB build.
"""

from setuptools import find_packages, setup

setup(
    name="r3f_fairseq",
    version="0.1.0",
    description="R3F/R4F, SMART and FreeLB fine-tuning as fairseq plugins",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    packages=find_packages(include=["r3f_fairseq", "r3f_fairseq.*"]),
    # the fairseq-hydra-train YAML (r3f-fairseq-user-dir --config-dir prints where it lands)
    package_data={"r3f_fairseq": ["configs/*/*.yaml"]},
    python_requires=">=3.10,<3.13",
    install_requires=[
        # fairseq 0.12 with the dataclass fix for Python 3.11/3.12 (wheels) ...
        've-fairseq==0.12.3; python_version >= "3.11"',
        # ... and the build that still installs on Python 3.10 (sdist).
        'fairseq-fixed==0.12.3.1; python_version < "3.11"',
        "hydra-core>=1.3.2,<1.4",
        "omegaconf>=2.3,<2.4",
        "numpy",
        "scipy",
        "scikit-learn",
        "regex",
        "safetensors",  # reading Hugging Face checkpoints (scripts/glue/convert_hf.sh)
        "sentencepiece",  # XLM-R's BPE (XNLI)
        "matplotlib",  # figures (walltime, probing)
        "rouge-score",  # ROUGE for summarisation (r3f_fairseq.rouge)
    ],
    extras_require={
        # tokenizers: the reference WordPiece implementation our tokenizer is tested against
        "test": ["pytest>=7", "tokenizers"],
    },
    # one command per script under scripts/ (which run the same main through scripts/in_venv.sh)
    entry_points={"console_scripts": [
        "r3f-rouge = r3f_fairseq.rouge:main",
        "r3f-fairseq-user-dir = r3f_fairseq.user_dir:main",
        "r3f-bench-rouge = r3f_fairseq.experiments.bench.rouge:main",
        "r3f-demo = r3f_fairseq.experiments.glue.demo:main",
        "r3f-glue-finetune = r3f_fairseq.experiments.glue.finetune:main",
        "r3f-glue-sweep = r3f_fairseq.experiments.glue.sweep:main",
        "r3f-glue-compare-methods = r3f_fairseq.experiments.glue.compare_methods:main",
        "r3f-glue-table2 = r3f_fairseq.experiments.glue.table2:main",
        "r3f-walltime-figure = r3f_fairseq.experiments.glue.walltime_figure:main",
        "r3f-xnli = r3f_fairseq.experiments.glue.xnli:main",
        "r3f-summarization-finetune = r3f_fairseq.experiments.summarization.finetune:main",
        "r3f-summarization-generate = r3f_fairseq.experiments.summarization.generate:main",
        "r3f-summarization-table4 = r3f_fairseq.experiments.summarization.table4:main",
        "r3f-probing = r3f_fairseq.experiments.probing.run:main",
        "r3f-probing-table = r3f_fairseq.experiments.probing.table:main",
        "r3f-evidence = r3f_fairseq.experiments.evidence:main",
        "r3f-bench-cost = r3f_fairseq.experiments.bench.cost:main",
        "r3f-bench-jobs = r3f_fairseq.experiments.bench.jobs:main",
        "r3f-glue-download = r3f_fairseq.data.download_glue:main",
        "r3f-glue-prepare = r3f_fairseq.data.prepare_glue:main",
        "r3f-convert-hf = r3f_fairseq.conversion.hf_bert:main",
        "r3f-summarization-prepare = r3f_fairseq.data.prepare_summarization:main",
    ]},
)
