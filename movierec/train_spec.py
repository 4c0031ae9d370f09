"""What a training job is asked to do, validated before the job is queued (no TensorFlow)."""

from __future__ import annotations

import dataclasses
from typing import Any

from movierec.datasets import check_dataset_name
from movierec.errors import DatasetError, InvalidRequest
from movierec.model_store import check_model_name
from movierec.splits import RANDOM, check_split_name

MODEL_KINDS = ("dot",)
OUTPUTS = ("linear", "sigmoid")


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """Hyperparameters of the dot model. Defaults were chosen on a validation split carved
    from ml-100k u1.base (see README, "Choosing the defaults").
    """

    epochs: int = 40
    embedding_dim: int = 32
    learning_rate: float = 0.002
    batch_size: int = 1024
    l2: float = 0.1
    output: str = "linear"
    patience: int = 3
    validation_fraction: float = 0.05

    def validate(self) -> None:
        """Raises InvalidRequest naming the first out-of-range value."""
        checks = [
            (1 <= self.epochs <= 1000, f"epochs must be 1 to 1000, got {self.epochs}"),
            (
                1 <= self.embedding_dim <= 1024,
                f"embedding_dim must be 1 to 1024, got {self.embedding_dim}",
            ),
            (
                0 < self.learning_rate <= 1,
                f"learning_rate must be > 0 and <= 1, got {self.learning_rate}",
            ),
            (
                1 <= self.batch_size <= 1_000_000,
                f"batch_size must be 1 to 1000000, got {self.batch_size}",
            ),
            (0 <= self.l2 < 1, f"l2 must be >= 0 and < 1, got {self.l2}"),
            (self.output in OUTPUTS, f"output must be one of {OUTPUTS}, got {self.output!r}"),
            (0 <= self.patience <= 1000, f"patience must be 0 to 1000, got {self.patience}"),
            (
                0 <= self.validation_fraction <= 0.5,
                f"validation_fraction must be 0 to 0.5, got {self.validation_fraction}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidRequest(message)


@dataclasses.dataclass(frozen=True)
class EpochReport:
    """Figures after one epoch: training loss and validation RMSE (rating units)."""

    epoch: int
    loss: float
    val_rmse: float
    seconds: float


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """A validated training request, defaults filled in.

    Attributes:
        model_name: Model to publish a new version of.
        kind: Model kind ("dot").
        dataset: Dataset name, e.g. "ml-100k".
        split: "u1".."u5", "ua", "ub" or "random".
        test_fraction: Held-out share for split "random".
        seed: Seed of the random split, the validation carve-out and weight init.
        hyperparameters: Filled-in hyperparameters.
    """

    model_name: str
    kind: str = "dot"
    dataset: str = "ml-100k"
    split: str = "u1"
    test_fraction: float = 0.2
    seed: int = 42
    hyperparameters: Hyperparameters = dataclasses.field(default_factory=Hyperparameters)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (also how a job process receives its spec)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainSpec:
        """Inverse of to_dict."""
        values = dict(values)
        values["hyperparameters"] = Hyperparameters(**values.get("hyperparameters", {}))
        return cls(**values)


def build_train_spec(
    model_name: str,
    kind: str = "dot",
    dataset: str = "ml-100k",
    split: str = "",
    test_fraction: float = 0.0,
    seed: int | None = None,
    hyperparameters: dict[str, Any] | None = None,
) -> TrainSpec:
    """Validates a training request and fills in defaults.

    Args:
        model_name: Model name (folder-safe).
        kind: One of MODEL_KINDS.
        dataset: A known dataset name.
        split: Split name; "" means "u1".
        test_fraction: For split "random"; 0 means 0.2.
        seed: Seed; None means 42.
        hyperparameters: Overrides of Hyperparameters fields; None values are ignored.

    Raises:
        InvalidRequest: naming the first bad value.
    """
    check_model_name(model_name)
    if kind not in MODEL_KINDS:
        raise InvalidRequest(f"unknown model kind {kind!r}; known kinds: {', '.join(MODEL_KINDS)}")
    split = split or "u1"
    try:
        check_dataset_name(dataset)
        check_split_name(dataset, split)
    except DatasetError as error:
        raise InvalidRequest(str(error)) from error
    seed = 42 if seed is None else int(seed)
    if not 0 <= seed < 2**32:
        raise InvalidRequest(f"seed must be 0 to {2**32 - 1}, got {seed}")
    if test_fraction and split != RANDOM:
        raise InvalidRequest(
            f"test_fraction applies to split 'random' only; split {split!r} is a fixed fold"
        )
    test_fraction = test_fraction or 0.2
    if not 0 < test_fraction < 1:
        raise InvalidRequest(f"test_fraction must be in (0, 1), got {test_fraction}")
    overrides = {k: v for k, v in (hyperparameters or {}).items() if v is not None}
    unknown = set(overrides) - {f.name for f in dataclasses.fields(Hyperparameters)}
    if unknown:
        raise InvalidRequest(f"unknown hyperparameters: {', '.join(sorted(unknown))}")
    try:
        params = Hyperparameters(**overrides)
    except TypeError as error:
        raise InvalidRequest(str(error)) from error
    params.validate()
    return TrainSpec(
        model_name=model_name,
        kind=kind,
        dataset=dataset,
        split=split,
        test_fraction=float(test_fraction),
        seed=seed,
        hyperparameters=params,
    )
