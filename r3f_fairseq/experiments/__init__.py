"""The experiment tooling above the plugin: one sub-package per experiment family.

    runs.py             a run's budget, default directories, and the life of one fairseq-train
                        run in its folder (lock, fingerprint, "already done?", resume, result.json)
    fairseq_process.py  fairseq's console scripts as child processes (die with us, progress + ETA)
    files.py            atomic writes, atomic preparation, the run-folder lock
    tables.py           ordering, cells, Markdown/CSV and plot helpers shared by every table
    glue/               GLUE and XNLI: recipes, inputs, finetune, sweep, demo, compare_methods,
                        table2, walltime_figure, xnli
    summarization/      recipes, finetune, generate, table4
    probing/            run (generalization / degradation / retention), table
    bench/              cost (per-update cost, Table 1)

Each command-line module is named like the script that runs it
(scripts/glue/finetune.sh -> glue/finetune.py) and has a console entry point
(r3f-glue-finetune, ...; see setup.py). See docs/tooling.md.
"""
