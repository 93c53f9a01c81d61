"""sentence_prediction_freelb (the FreeLB baseline's training step) on a tiny RoBERTa and real RTE data."""

import pytest
import torch
from fairseq.tasks import FairseqTask

from tests.helpers import batch, grads, helpers_no_dropout
from r3f_fairseq.embedding_perturbation import perturbed_token_embeddings


class PlainOptimizer:
    """What train_step needs of a fairseq optimizer (fp32: backward is loss.backward)."""

    def backward(self, loss):
        loss.backward()


def freelb(tiny_roberta, *flags):
    return tiny_roberta("--task", "sentence_prediction_freelb", "--criterion", "sentence_prediction", *flags)


def step(task, model, crit, sample, seed=0):
    model.zero_grad()
    torch.manual_seed(seed)
    loss, sample_size, log = task.train_step(sample, model, crit, PlainOptimizer(), update_num=0)
    return loss.detach(), grads(model), log


def test_one_pass_from_zero_is_the_standard_update_exactly(tiny_roberta):
    cfg, task, model, crit = freelb(tiny_roberta, "--adv-steps", "0", "--adv-init-mag", "0")
    sample = batch(task)
    loss, g, log = step(task, model, crit, sample)
    model.zero_grad()
    torch.manual_seed(0)
    ref_loss, _, _ = FairseqTask.train_step(task, sample, model, crit, PlainOptimizer(), update_num=0)
    ref_g = grads(model)
    assert torch.equal(loss, ref_loss.detach())
    assert g.keys() == ref_g.keys()
    for name in g:
        assert torch.equal(g[name], ref_g[name]), name


def test_the_update_is_the_mean_of_the_passes_gradients(tiny_roberta):
    """--adv-steps 2 (the release's meaning): 2 ascent steps, so k = 3 passes."""
    k = 3
    cfg, task, model, crit = freelb(tiny_roberta, "--adv-steps", str(k - 1), "--adv-init-mag", "0.5",
                                    "--adv-lr", "0.5", "--adv-max-norm", "0.8", *helpers_no_dropout())
    sample = batch(task)
    loss, g, log = step(task, model, crit, sample, seed=3)

    # the same K passes, one by one, each with its own gradients
    torch.manual_seed(3)
    tokens = sample["net_input"]["src_tokens"]
    delta, keep = task.initial_perturbation(model, tokens)
    params = [(n, p) for n, p in model.named_parameters() if n in g]
    per_step, losses = [], []
    for _ in range(k):
        delta.requires_grad_()
        with perturbed_token_embeddings(model, tokens, lambda e: e + delta):
            loss_k, _, _ = crit(model, sample)
        *g_params, g_delta = torch.autograd.grad(loss_k, [p for _, p in params] + [delta])
        per_step.append(g_params)
        losses.append(loss_k.detach())
        delta = task.ascend(delta.detach(), g_delta, keep)
    assert len({round(x.item(), 6) for x in losses}) == k, "the perturbation did not change between passes"
    torch.testing.assert_close(loss, sum(losses) / k)
    for i, (name, _) in enumerate(params):
        torch.testing.assert_close(g[name], sum(s[i] for s in per_step) / k, msg=name)


def test_perturbation_stays_in_the_ball_and_off_padding(tiny_roberta):
    cfg, task, model, crit = freelb(tiny_roberta, "--adv-init-mag", "1", "--adv-lr", "10", "--adv-max-norm", "0.3")
    sample = batch(task)
    tokens = sample["net_input"]["src_tokens"]
    assert tokens.eq(task.source_dictionary.pad()).any(), "the batch needs padding for this test"
    delta, keep = task.initial_perturbation(model, tokens)
    assert delta[~keep].abs().max() == 0
    delta = task.ascend(delta, torch.randn_like(delta), keep)
    assert delta.flatten(1).norm(dim=1).max() <= 0.3 + 1e-6
    assert delta[~keep].abs().max() == 0


class RecordingCriterion:
    """The criterion, keeping each pass's loss."""

    def __init__(self, criterion):
        self.criterion, self.losses = criterion, []

    def __call__(self, model, sample):
        loss, sample_size, log = self.criterion(model, sample)
        self.losses.append(loss.item())
        return loss, sample_size, log


@pytest.mark.parametrize("redraw", [False, True])
def test_later_passes_reuse_the_first_passs_dropout_masks(tiny_roberta, redraw):
    """As the release: with the perturbation held at 0, every pass is the same
    computation, dropout included; --adv-redraw-dropout draws new masks."""
    cfg, task, model, crit = freelb(tiny_roberta, "--adv-steps", "2", "--adv-init-mag", "0", "--adv-lr", "0",
                                    "--dropout", "0.3", *(["--adv-redraw-dropout"] if redraw else []))
    recording = RecordingCriterion(crit)
    torch.manual_seed(0)
    task.train_step(batch(task), model, recording, PlainOptimizer(), update_num=0)
    assert len(recording.losses) == 3
    assert (len(set(recording.losses)) == 1) != redraw, recording.losses


def test_each_ascent_step_increases_the_loss(tiny_roberta):
    cfg, task, model, crit = freelb(tiny_roberta, "--adv-steps", "3", "--adv-init-mag", "0", "--adv-lr", "0.05",
                                    *helpers_no_dropout())
    recording = RecordingCriterion(crit)
    torch.manual_seed(0)
    task.train_step(batch(task), model, recording, PlainOptimizer(), update_num=0)
    losses = recording.losses
    assert len(losses) == 4 and all(b > a for a, b in zip(losses, losses[1:])), losses


@pytest.mark.parametrize("flags, message", [
    (["--adv-steps", "-1"], "--adv-steps must be >= 0"),
    (["--adv-lr", "nan"], "--adv-lr must be a finite number"),
    (["--adv-lr", "-1"], "--adv-lr must be >= 0"),
    (["--adv-init-mag", "-1"], "--adv-init-mag must be >= 0"),
    (["--adv-max-norm", "-1"], "--adv-max-norm must be >= 0"),
])
def test_bad_flags_fail_at_start_up_naming_the_flag(tiny_roberta, flags, message):
    with pytest.raises(ValueError, match=message):
        freelb(tiny_roberta, *flags)


def test_regression_target_trains(stsb_bin):
    from tests import helpers

    cfg, task, model, crit = helpers.build(stsb_bin, *helpers.TINY_ROBERTA, "--num-classes", "1",
                                           "--regression-target", "--task", "sentence_prediction_freelb",
                                           "--criterion", "sentence_prediction", "--adv-steps", "1")
    loss, g, log = step(task, model, crit, batch(task))
    assert torch.isfinite(loss) and g and all(torch.isfinite(v).all() for v in g.values())
