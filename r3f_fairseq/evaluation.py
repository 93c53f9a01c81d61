"""Accuracy of a fine-tuned sentence-prediction checkpoint on binarised data.

The checkpoint's own task configuration (number of classes, init/separator
tokens, head name, max positions) is reused as saved; only the data directory
is replaced. This is what zero-shot evaluation needs: XNLI is scored with the
MNLI-trained model exactly as it was trained, one subset per language, with
one model load. Before any scoring, the checkpoint must be readable and its
classification head must have as many classes as the data's label set
(:mod:`r3f_fairseq.checks`): a 2-class RTE head on 3-label XNLI is an error.
"""

from typing import Dict, Iterable, Optional


def sentence_prediction_accuracy(checkpoint: str, data_dir: str, subsets: Iterable[str], batch_size: int = 32,
                                 cpu: Optional[bool] = None, checkpoint_flag: str = "--checkpoint",
                                 data_flag: str = "--xnli-bin") -> Dict[str, float]:
    """``{subset: accuracy in %}`` of ``checkpoint`` on ``data_dir/{input0,input1,label}/<subset>``;
    the flags are named in errors."""
    import torch
    from fairseq import checkpoint_utils, utils

    import r3f_fairseq

    r3f_fairseq.register()  # our criterions/tasks, torch>=2.6 checkpoint loading
    from r3f_fairseq.checks import check_classification_head, read_checkpoint

    overrides = {"data": data_dir}
    state = read_checkpoint(checkpoint, checkpoint_flag, overrides)
    check_classification_head(state, checkpoint, data_dir, checkpoint_flag, data_flag)
    models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([checkpoint], arg_overrides=overrides,
                                                                      state=state)
    model = models[0].eval()
    use_cuda = torch.cuda.is_available() and not cpu
    if use_cuda:
        model.cuda()
    head = cfg.task.classification_head_name
    max_positions = utils.resolve_max_positions(task.max_positions(), model.max_positions())
    accuracy = {}
    for subset in subsets:
        task.load_dataset(subset, combine=False, epoch=1)
        batches = task.get_batch_iterator(dataset=task.dataset(subset), max_sentences=batch_size,
                                          max_positions=max_positions).next_epoch_itr(shuffle=False)
        correct = total = 0
        with torch.no_grad():
            for sample in batches:
                if use_cuda:
                    sample = utils.move_to_cuda(sample)
                logits, _ = model(**sample["net_input"], features_only=True, classification_head_name=head)
                target = model.get_targets(sample, [logits]).view(-1)
                correct += int((logits.argmax(dim=-1) == target).sum())
                total += target.numel()
        if total != len(task.dataset(subset)):
            raise RuntimeError(f"{data_dir} {subset}: scored {total} of {len(task.dataset(subset))} examples "
                               "(some longer than the model's max positions?)")
        accuracy[subset] = 100.0 * correct / total
    return accuracy
