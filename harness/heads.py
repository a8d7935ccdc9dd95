"""Multi-task heads: disjoint slices of one output layer, one per task (see harness.multitask);
sequential chains use them too."""

from __future__ import annotations

import numpy as np
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput


class MultiTaskHeads(nn.Module):
    """A classifier whose output layer holds every task's labels; each task reads and is trained
    on its own slice."""

    def __init__(self, model, label_counts: list[int]):
        super().__init__()
        self.model = model
        self.offsets = np.concatenate([[0], np.cumsum(label_counts)]).tolist()

    def forward(self, task_index, labels=None, **inputs):
        task = int(task_index)
        logits = self.model(**inputs).logits[:, self.offsets[task]:self.offsets[task + 1]]
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
