"""Continual-learning metrics over an accuracy matrix R, where R[i][j] is the accuracy on the chain's
task j after training stage i (tasks in chain order, so task j is learned at stage j).

- forgetting of task j (Chaudhry et al., 2018): the best accuracy it had at any stage from learning
  it up to the one before last, minus its final accuracy; defined for every task but the last.
- average forgetting: the mean of those.
- backward transfer, BWT (Lopez-Paz & Ranzato, 2017): the mean over tasks but the last of final
  accuracy minus accuracy right after learning it; negative when learning later tasks hurts.
"""

from __future__ import annotations

from statistics import fmean


def forgetting(matrix: list[list[float]]) -> list[float]:
    last = len(matrix) - 1
    return [max(matrix[stage][task] for stage in range(task, last)) - matrix[last][task] for task in range(last)]


def average_forgetting(matrix: list[list[float]]) -> float:
    return fmean(forgetting(matrix))


def backward_transfer(matrix: list[list[float]]) -> float:
    last = len(matrix) - 1
    return fmean(matrix[last][task] - matrix[task][task] for task in range(last))
