"""sentence_prediction_smart (the SMART baseline) on a tiny RoBERTa built by fairseq from real RTE data."""

import pytest
import torch

from tests.helpers import batch, helpers_no_dropout, same_loss_and_gradients, stock_sentence_prediction
from r3f_fairseq.embedding_perturbation import perturbed_token_embeddings
from r3f_fairseq.regularizers import symmetric_kl


def smart(tiny_roberta, *flags):
    return tiny_roberta("--criterion", "sentence_prediction_smart", *flags)


def clean_logits(model, crit, sample):
    out, _ = model(**sample["net_input"], features_only=True, classification_head_name=crit.classification_head_name)
    return out


def test_lambda_zero_gives_stock_loss_and_gradients_exactly(tiny_roberta):
    cfg, task, model, crit = smart(tiny_roberta, "--smart-lambda", "0")
    model.train()
    same_loss_and_gradients(model, crit, stock_sentence_prediction(task), batch(task))


def test_eval_mode_is_the_stock_loss_and_draws_no_noise(tiny_roberta):
    cfg, task, model, crit = smart(tiny_roberta)
    sample = batch(task)
    model.eval()
    state = torch.get_rng_state()
    with torch.no_grad():
        loss, _, log = crit(model, sample)
        stock, _, _ = stock_sentence_prediction(task)(model, sample)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(loss, stock) and "smart_adv" not in log


def test_loss_is_stock_plus_lambda_times_adversarial_symm_kl(tiny_roberta):
    cfg, task, model, crit = smart(tiny_roberta, "--smart-lambda", "3", "--smart-eps", "0.1",
                                   "--smart-noise-var", "0.01", *helpers_no_dropout())
    sample = batch(task)
    model.train()
    loss, _, log = crit(model, sample)
    stock, _, _ = stock_sentence_prediction(task)(model, sample)
    assert log["smart_adv"] > 0
    torch.testing.assert_close(loss, stock + 3 * log["smart_adv"])


@pytest.mark.parametrize("norm", ["inf", "l2"])
def test_ascent_finds_a_larger_symm_kl_than_random_noise_of_the_same_norm(tiny_roberta, norm):
    cfg, task, model, crit = smart(tiny_roberta, "--smart-eps", "0.5", "--smart-noise-var", "0.05",
                                   "--smart-step-size", "0.5", "--smart-steps", "2", "--smart-norm", norm,
                                   *helpers_no_dropout())
    sample = batch(task)
    model.train()
    torch.manual_seed(0)
    with torch.no_grad():
        clean = clean_logits(model, crit, sample)
    delta = crit.adversarial_perturbation(model, sample["net_input"], clean)
    tokens = sample["net_input"]["src_tokens"]
    keep = tokens.ne(crit.padding_idx).unsqueeze(-1)

    def divergence(d):
        with torch.no_grad(), perturbed_token_embeddings(model, tokens, lambda e: e + d):
            return symmetric_kl(clean, clean_logits(model, crit, sample)).item()

    per_token = (lambda x: x.abs().amax(-1, keepdim=True)) if norm == "inf" else (lambda x: x.norm(dim=-1, keepdim=True))
    assert per_token(delta).max() <= 0.5 + 1e-6, "the perturbation left the eps ball"
    adversarial = divergence(delta)
    for seed in range(5):
        torch.manual_seed(seed)
        random = torch.randn_like(delta) * keep
        random = random / per_token(random).clamp(min=1e-12) * per_token(delta)
        assert adversarial > divergence(random), seed


def test_regression_target_gets_a_squared_difference_term(stsb_bin):
    from tests import helpers

    cfg, task, model, crit = helpers.build(stsb_bin, *helpers.TINY_ROBERTA, "--num-classes", "1",
                                           "--regression-target", "--criterion", "sentence_prediction_smart",
                                           "--smart-eps", "0.1", "--smart-noise-var", "0.01", *helpers_no_dropout())
    model.train()
    loss, _, log = crit(model, batch(task))
    assert log["smart_adv"] > 1e-6 and torch.isfinite(loss)  # dropout off: the perturbation alone


def test_zero_perturbation_gives_no_term(tiny_roberta):
    """The control for the test above: with dropout off, a perturbation of size 0
    (no initial noise, no ascent) leaves the smoothness term at 0."""
    cfg, task, model, crit = smart(tiny_roberta, "--smart-noise-var", "0", "--smart-step-size", "0",
                                   *helpers_no_dropout())
    model.train()
    _, _, log = crit(model, batch(task))
    assert float(log["smart_adv"]) < 1e-12


def test_bregman_teacher_is_an_ema_outside_the_optimised_parameters(tiny_roberta):
    cfg, task, model, crit = smart(tiny_roberta, "--smart-lambda", "0", "--smart-mu", "1", "--smart-beta", "0.9",
                                   *helpers_no_dropout())
    sample = batch(task)
    model.train()
    _, _, log = crit(model, sample)
    assert log["bregman"] < 1e-10  # the teacher starts as the model
    assert list(crit.parameters()) == []  # never optimised nor checkpointed
    teacher = crit._teacher[0]
    before = [t.clone() for t in teacher.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    _, _, log = crit(model, sample)
    assert log["bregman"] > 0
    for old, t, p in zip(before, teacher.parameters(), model.parameters()):
        torch.testing.assert_close(t, 0.9 * old + 0.1 * p)


def test_bregman_teacher_moves_once_per_optimizer_update(tiny_roberta):
    """With --update-freq k the criterion runs k times per update: the teacher moves
    once per update (momentum beta per update, not beta^k)."""
    cfg, task, model, crit = smart(tiny_roberta, "--smart-lambda", "0", "--smart-mu", "1", "--smart-beta", "0.5",
                                   *helpers_no_dropout())
    sample = batch(task)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    crit(model, sample)  # update 0: the teacher starts as the model
    teacher = crit._teacher[0]
    for update in range(2):
        before = [t.clone() for t in teacher.parameters()]
        optimizer.zero_grad()
        for micro_batch in range(3):  # --update-freq 3
            loss, _, _ = crit(model, sample)
            loss.backward()
        optimizer.step()
        crit(model, sample)  # first micro-batch of the next update: one EMA step
        crit(model, sample)  # its second micro-batch: none
        for old, t, p in zip(before, teacher.parameters(), model.parameters()):
            torch.testing.assert_close(t, 0.5 * old + 0.5 * p)


@pytest.mark.parametrize("flags, message", [
    (["--smart-steps", "-1"], "--smart-steps must be >= 0"),
    (["--smart-lambda", "nan"], "--smart-lambda must be a finite number"),
    (["--smart-eps", "inf"], "--smart-eps must be a finite number"),
    (["--smart-eps", "0"], "--smart-eps must be > 0"),
    (["--smart-eps=-1e-5"], "--smart-eps must be > 0"),
    (["--smart-lambda", "-1"], "--smart-lambda must be >= 0"),
    (["--smart-step-size", "-1"], "--smart-step-size must be >= 0"),
    (["--smart-noise-var", "-1"], "--smart-noise-var must be >= 0"),
    (["--smart-mu", "-1"], "--smart-mu must be >= 0"),
    (["--smart-beta", "1"], r"--smart-beta must be in \[0, 1\)"),
])
def test_bad_flags_fail_at_start_up_naming_the_flag(tiny_roberta, flags, message):
    with pytest.raises(ValueError, match=message):
        smart(tiny_roberta, *flags)


def test_unknown_norm_is_rejected_by_the_parser(tiny_roberta, capsys):
    with pytest.raises(SystemExit):
        smart(tiny_roberta, "--smart-norm", "l1")
    assert "--smart-norm" in capsys.readouterr().err
