"""Pair and item counts with precision, recall and F1: the one score the evaluation scripts share."""

from __future__ import annotations

from dataclasses import dataclass

HEADER = "| group                        |     n |   tp |   fp |   fn |   tn | prec  | rec   | F1    |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"


@dataclass
class Counts:
    """True/false positives and negatives. Precision and recall of nothing are 1.0 (no error made)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, *, truth: bool, predicted: bool) -> None:
        # Keyword-only: the scripts called this with both argument orders before it was shared.
        if truth and predicted:
            self.tp += 1
        elif truth:
            self.fn += 1
        elif predicted:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def prf(self) -> tuple[float, float, float]:
        return self.precision, self.recall, self.f1

    def row(self, label: str) -> str:
        """One line of the HEADER table."""
        p, r, f = self.prf()
        return f"| {label:<28} | {self.n:>5} | {self.tp:>4} | {self.fp:>4} | {self.fn:>4} | {self.tn:>4} | {p:.3f} | {r:.3f} | {f:.3f} |"
