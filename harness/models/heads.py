"""Classification heads. Every approach and architecture classifies through the same head: the
architecture's own (BERT's pooler, DistilBERT's pre_classifier) and a new classifier, all trained by
every method; for a checkpoint trained with mean pooling (sentence-transformers), the pooled vector is
the mean of the token states instead of the first token's. Multi-task models use disjoint slices of
one output layer, one per task (see harness.kinds.multitask); sequential chains use them too."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from harness.data import length_sorted_batches

POOLINGS = ("mean", "first-token")


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of the token states over attended positions. Positions the mask does not list (prompt
    tuning's virtual tokens, prepended) count as attended."""
    mask = hidden.new_ones(hidden.shape[:2]) if mask is None else mask.to(hidden.dtype)
    if hidden.shape[1] > mask.shape[1]:
        mask = torch.cat([mask.new_ones(mask.shape[0], hidden.shape[1] - mask.shape[1]), mask], dim=1)
    return (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)


class MeanPooling(nn.Module):
    """Mean pooling in place of the first token. The backbone's pooler is called with the token
    states only, so a forward pre-hook on the backbone keeps the attention mask of the current call."""

    def __init__(self):
        super().__init__()
        self.mask = None

    def keep_mask(self, module, args, kwargs) -> None:
        self.mask = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return masked_mean(hidden, self.mask)

    def into_first_token(self, module, args, output):
        """For architectures whose head reads position 0 itself (DistilBERT): the mean goes there."""
        hidden = output.last_hidden_state
        output.last_hidden_state = torch.cat([self(hidden).unsqueeze(1), hidden[:, 1:]], dim=1)
        return output


def attach_pooling(model, arch, pooling: str):
    """Makes `model` classify from mean-pooled token states when `pooling` is 'mean'."""
    if pooling != "mean":
        return model
    backbone = getattr(model, model.base_model_prefix)
    mean = MeanPooling()
    backbone.register_forward_pre_hook(mean.keep_mask, with_kwargs=True)
    if arch.pooler:
        setattr(backbone, arch.pooler, mean)  # BERT's pooler (dense + tanh over [CLS]) is replaced
    else:
        backbone.mean_pooling = mean  # a submodule, so that copies of the model keep it with its hooks
        backbone.register_forward_hook(mean.into_first_token)
    return model


def pooled_features(model, dataset, tokenizer, batch_size: int, device, pooling: str = "mean") -> np.ndarray:
    """The encoder's last hidden layer, pooled (mean over attended positions, or the first token), in dataset order."""

    model.eval()
    features = None
    with torch.no_grad():
        for indices, batch in length_sorted_batches(dataset, tokenizer, batch_size, device):
            hidden = model(**batch, output_hidden_states=True).hidden_states[-1].float()
            pooled = masked_mean(hidden, batch["attention_mask"]) if pooling == "mean" else hidden[:, 0]
            if features is None:
                features = np.empty((len(dataset), pooled.shape[1]), dtype=np.float32)
            features[indices] = pooled.cpu().numpy()
    return features


def classify_pooled(model, pooled: torch.Tensor) -> torch.Tensor:
    """The classifier's logits from its encoder's pooled output (`pooled_features`, with the model's pooling), through
    the model's own head modules: the same function of it as the model's whole forward
    (tests/test_heads.py). Written here because transformers has no entry point below the encoder."""
    kind = model.config.model_type
    if kind == "bert":
        pooler = model.bert.pooler
        if not isinstance(pooler, MeanPooling):  # BERT's own pooler: dense + tanh over the first token
            pooled = pooler.activation(pooler.dense(pooled))
        return model.classifier(model.dropout(pooled))
    if kind == "distilbert":
        return model.classifier(model.dropout(nn.functional.relu(model.pre_classifier(pooled))))
    raise NotImplementedError(f"no head over pooled features for model type '{kind}'")


class HeadOnFeatures(nn.Module):
    """A classifier whose encoder is frozen, trained on its cached pooled outputs: the same head parameters (shared
    with `model`, so the model is trained when this is), fed precomputed features instead of tokens."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, features, labels=None):
        logits = classify_pooled(self.model, features)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


class MultiTaskHeads(nn.Module):
    """A classifier whose output layer holds every task's labels; each task reads and is trained
    on its own slice."""

    def __init__(self, model, label_counts: list[int]):
        super().__init__()
        self.model = model
        self.offsets = np.concatenate([[0], np.cumsum(label_counts)]).tolist()

    def forward(self, task_index, labels=None, **inputs):
        task = int(task_index)
        logits = self.model(**inputs).logits[:, self.offsets[task] : self.offsets[task + 1]]
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


class TaskView(nn.Module):
    """One task's classifier out of the multi-task model, for evaluation."""

    def __init__(self, heads: MultiTaskHeads, task_index: int):
        super().__init__()
        self.heads = heads
        self.task_index = task_index

    def forward(self, **inputs):
        return self.heads(task_index=self.task_index, **inputs)
