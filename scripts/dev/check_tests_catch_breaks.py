"""Break each core behaviour on purpose, run its fast tests, restore the file.

    .venv/bin/python scripts/dev/check_tests_catch_breaks.py [--help]

Each row: a behaviour, the one-line change that breaks it, and the fast tests
that must then fail. Prints CAUGHT or MISSED per row and exits 1 if any break
is missed. The file is restored after each row (also on Ctrl-C); do not edit
the core while it runs. Takes about 8 minutes on 2 cores.
"""
import pathlib
import subprocess
import sys

R = pathlib.Path(__file__).resolve().parents[2]
BREAKS = [
 ("R3F penalty sign", "r3f_fairseq/criterions/sentence_prediction_r3f.py", "loss = loss + self.r3f.r3f_lambda * penalty", "loss = loss - self.r3f.r3f_lambda * penalty", "tests/test_sentence_prediction_r3f.py"),
 ("clean pass detached", "r3f_fairseq/criterions/sentence_prediction_r3f.py", "            penalty = symmetric_kl(clean, noised)", "            penalty = symmetric_kl(clean.detach(), noised)", "tests/test_sentence_prediction_r3f.py"),
 ("noised lookup not detached", "r3f_fairseq/criterions/r3f_config.py", 'self.detach_embeddings = str(embedding_grad) == "clean"', 'self.detach_embeddings = False', "tests/test_sentence_prediction_r3f.py"),
 ("seq2seq mask dropped", "r3f_fairseq/criterions/label_smoothed_cross_entropy_r3f.py", "mask=target.ne(self.padding_idx))", "mask=None)", "tests/test_label_smoothed_cross_entropy_r3f.py"),
 ("seq2seq sentence weighting dropped", "r3f_fairseq/criterions/label_smoothed_cross_entropy_r3f.py", "            penalty = penalty * sample_size / target.size(0)", "            pass", "tests/test_label_smoothed_cross_entropy_r3f.py"),
 ("noise scale x2", "r3f_fairseq/regularizers.py", "noise = (torch.rand_like(shape_like) * 2.0 - 1.0) * self.eps", "noise = (torch.rand_like(shape_like) * 2.0 - 1.0) * self.eps * 2", "tests/test_sentence_prediction_r3f.py"),
 ("normal noise scale x2", "r3f_fairseq/regularizers.py", "noise = torch.randn_like(shape_like) * self.eps", "noise = torch.randn_like(shape_like) * self.eps * 2", "tests/test_sentence_prediction_r3f.py tests/test_label_smoothed_cross_entropy_r3f.py"),
 ("noise at evaluation", "r3f_fairseq/criterions/r3f_config.py", "return model.training and self.r3f_lambda > 0", "return self.r3f_lambda > 0", "tests/test_sentence_prediction_r3f.py tests/test_label_smoothed_cross_entropy_r3f.py"),
 ("noise reaches BART's decoder", "r3f_fairseq/embedding_perturbation.py", "if inputs and inputs[0] is src_tokens:", "if inputs:", "tests/test_label_smoothed_cross_entropy_r3f.py"),
 ("FreeLB ascent sign", "r3f_fairseq/tasks/sentence_prediction_freelb.py", "delta = delta + self.cfg.adv_lr * normalized(", "delta = delta - self.cfg.adv_lr * normalized(", "tests/test_freelb.py"),
 ("FreeLB dropout not replayed", "r3f_fairseq/tasks/sentence_prediction_freelb.py", "                first_pass_draws.replay()", "                pass", "tests/test_freelb.py"),
 ("SMART perturbation zeroed", "r3f_fairseq/criterions/sentence_prediction_smart.py", "        return delta.detach()", "        return delta.detach() * 0", "tests/test_smart.py"),
 ("SMART ascent sign", "r3f_fairseq/criterions/sentence_prediction_smart.py", "step = delta.detach() + self.cfg.smart_step_size", "step = delta.detach() - self.cfg.smart_step_size", "tests/test_smart.py"),
 ("SMART EMA every micro-batch", "r3f_fairseq/criterions/sentence_prediction_smart.py", "            if versions != self._teacher_seen:", "            if True:", "tests/test_smart.py"),
 ("R4F only out_proj", "r3f_fairseq/regularizers.py", '    if scope == "out_proj":', '    if True:', "tests/test_r4f.py"),
 ("restore plain->SN drops weight", "r3f_fairseq/compat.py", '            elif wanted == "sn":', '            elif False:', "tests/test_restore.py"),
 ("restore SN->plain keeps weight_orig", "r3f_fairseq/compat.py", "state_dict[layer + \"weight\"] = spectral_norm_to_plain_weight(state_dict, layer)", "state_dict[layer + \"weight\"] = state_dict[layer + \"weight_orig\"]", "tests/test_restore.py tests/test_r4f.py"),
]
if "-h" in sys.argv or "--help" in sys.argv:
    print(__doc__.strip())
    sys.exit(0)
py = sys.executable
missed = 0
for name, path, old, new, tests in BREAKS:
    f = R / path
    text = f.read_text()
    assert text.count(old) >= 1, (name, old)
    f.write_text(text.replace(old, new, 1))
    try:
        r = subprocess.run([py, "-m", "pytest", *tests.split(), "-x", "-q", "-m", "not slow", "-p", "no:cacheprovider"],
                           cwd=R, capture_output=True, text=True)
        last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-200:]
        failed = [l for l in r.stdout.splitlines() if l.startswith("FAILED")]
        print(f"{name:40s} -> {'CAUGHT' if r.returncode else 'MISSED'}: {failed[:1]} {last}", flush=True)
        missed += r.returncode == 0
    finally:
        f.write_text(text)
sys.exit(1 if missed else 0)
