"""What a training job is asked to do, validated before the job is queued (no TensorFlow)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from movierec.data.datasets import dataset_traits
from movierec.data.splits import FRACTION_SPLITS, RANDOM, check_split_name
from movierec.errors import DatasetError, InvalidRequest
from movierec.kinds import DEFAULT_KIND, RATING_KIND, get_kind
from movierec.kinds.base import OBJECTIVES, RATING, RETRIEVAL, KindParams, check
from movierec.store.model_store import check_model_name

MIN_TEST_FRACTION, MAX_TEST_FRACTION = 0.01, 0.5
"""A random split holds out 1 % to 50 % of the ratings (each side must still hold
movierec.data.splits.MIN_SPLIT_RATINGS ratings, checked when the data is read)."""
NEGATIVE_SAMPLING = ("uniform", "popularity")
NEGATIVE_SHARING = ("example", "batch")
# A pool shared by the batch costs one [batch, pool] product; per-example draws cost a
# tower pass and a vector per draw.
MAX_NEGATIVES = {"example": 1000, "batch": 100_000}
# num_negatives when a request leaves it out: on five ml-100k folds a shared pool of 16
# ranked at most-popular's level, a pool of 1,024 near 16 per example (bench/RESULTS.md,
# "Negatives per example or a shared pool").
DEFAULT_NEGATIVES = {"example": 16, "batch": 1024}
RETRIEVAL_LOSSES = ("softmax", "bce")
RATING_LOSSES = ("mse", "mae", "bce")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adagrad")


MAX_WORKERS = 16
"""Most worker processes one job trains on."""


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """Hyperparameters every kind shares. Defaults per objective were chosen on a
    validation share of ml-100k u1.base (docs/models.md, "How the defaults were chosen").

    Attributes:
        epochs: Most epochs; early stopping may end sooner.
        learning_rate: The optimizer's learning rate.
        batch_size: Examples per step (ratings, or positives for retrieval).
        patience: Epochs without validation improvement before stopping; 0 never stops.
        validation_fraction: Share of the training ratings held out for early stopping.
        num_negatives: Retrieval: sampled negatives per positive, or with
            negative_sharing "batch" the size of the batch's pool (every positive is
            scored against all of it, its own item masked out). Left out of a request,
            DEFAULT_NEGATIVES for the sharing (16 per example, a pool of 1,024).
        negative_sampling: Retrieval: "uniform" or "popularity" (with log-q correction).
        negative_sharing: Retrieval: "example" (each positive gets negatives of its own)
            or "batch" (one pool of num_negatives serves every positive of a batch, so a
            two_tower item tower runs on batch_size + num_negatives items per step
            instead of up to batch_size x (1 + num_negatives)).
        retrieval_loss: Retrieval: "softmax" or "bce".
        min_positive_rating: Retrieval: ratings below it are not positives (0: every
            rated item is). On implicit feedback every interaction is a positive: it is
            0 there, and no other value is taken.
        rating_loss: Rating: "mse", "mae" (notebook 2) or "bce" (binary cross-entropy on
            min-max scaled ratings, notebook 3; meant for outputs bounded to the scale).
        optimizer: "adam", "sgd", "rmsprop" or "adagrad", at learning_rate.
        workers: Worker processes to train on (movierec.training.distributed), 1 to
            MAX_WORKERS; each global batch is split between them.
    """

    epochs: int = 40
    learning_rate: float = 0.002
    batch_size: int = 1024
    patience: int = 3
    validation_fraction: float = 0.05
    num_negatives: int = 16
    negative_sampling: str = "uniform"
    negative_sharing: str = "example"
    retrieval_loss: str = "softmax"
    min_positive_rating: float = 0.0
    rating_loss: str = "mse"
    optimizer: str = "adam"
    workers: int = 1

    @classmethod
    def defaults(cls, objective: str) -> dict[str, Any]:
        """Field values that differ from the dataclass defaults for `objective`."""
        if objective == RETRIEVAL:
            return {
                "epochs": 60,
                "learning_rate": 0.005,
                "validation_fraction": 0.1,
                "min_positive_rating": 3.0,
            }
        return {}

    def validate(self) -> None:
        """Raises InvalidRequest naming the first out-of-range value."""
        most_negatives = MAX_NEGATIVES.get(self.negative_sharing, MAX_NEGATIVES["example"])
        check(
            [
                (1 <= self.epochs <= 1000, f"epochs must be 1 to 1000, got {self.epochs}"),
                (
                    0 < self.learning_rate <= 1,
                    f"learning_rate must be > 0 and <= 1, got {self.learning_rate}",
                ),
                (
                    1 <= self.batch_size <= 1_000_000,
                    f"batch_size must be 1 to 1000000, got {self.batch_size}",
                ),
                (0 <= self.patience <= 1000, f"patience must be 0 to 1000, got {self.patience}"),
                (
                    0 <= self.validation_fraction <= 0.5,
                    f"validation_fraction must be 0 to 0.5, got {self.validation_fraction}",
                ),
                (
                    1 <= self.num_negatives <= most_negatives,
                    f"num_negatives must be 1 to {most_negatives} with negative_sharing"
                    f" {self.negative_sharing!r}, got {self.num_negatives}",
                ),
                (
                    self.negative_sampling in NEGATIVE_SAMPLING,
                    f"negative_sampling must be one of {NEGATIVE_SAMPLING},"
                    f" got {self.negative_sampling!r}",
                ),
                (
                    self.negative_sharing in NEGATIVE_SHARING,
                    f"negative_sharing must be one of {NEGATIVE_SHARING},"
                    f" got {self.negative_sharing!r}",
                ),
                (
                    0 <= self.min_positive_rating <= 10,
                    f"min_positive_rating must be 0 to 10, got {self.min_positive_rating}",
                ),
                (
                    self.rating_loss in RATING_LOSSES,
                    f"rating_loss must be one of {RATING_LOSSES}, got {self.rating_loss!r}",
                ),
                (
                    self.optimizer in OPTIMIZERS,
                    f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}",
                ),
                (
                    1 <= self.workers <= MAX_WORKERS,
                    f"workers must be 1 to {MAX_WORKERS}, got {self.workers}",
                ),
                (
                    self.retrieval_loss in RETRIEVAL_LOSSES,
                    f"retrieval_loss must be one of {RETRIEVAL_LOSSES},"
                    f" got {self.retrieval_loss!r}",
                ),
            ]
        )


@dataclasses.dataclass(frozen=True)
class EpochReport:
    """Figures after one epoch: training loss and the objective's validation metric
    (val_rmse in rating units for rating, val_ndcg = NDCG@10 for retrieval; 0 otherwise),
    and the loss on the validation share (rating objective, single-process fit; else 0).
    """

    epoch: int
    loss: float
    val_rmse: float
    seconds: float
    val_ndcg: float = 0.0
    val_loss: float = 0.0


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """A validated training request, defaults filled in.

    Attributes:
        model_name: Model to publish a new version of.
        kind: A registered kind (movierec.kinds.KINDS).
        objective: "retrieval" or "rating".
        dataset: Dataset name, e.g. "ml-100k", or an imported dataset's.
        split: "u1".."u5", "ua", "ub", "random", "temporal" or "last".
        test_fraction: Held-out share for splits "random" and "temporal".
        seed: Seed of the random split, the validation carve-out and weight init.
        hyperparameters: Filled-in shared hyperparameters.
        kind_params: Filled-in hyperparameters of the kind.
    """

    model_name: str
    kind: str
    objective: str
    dataset: str
    split: str
    test_fraction: float
    seed: int
    hyperparameters: Hyperparameters
    kind_params: KindParams

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (also how a job process receives its spec)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainSpec:
        """Inverse of to_dict."""
        values = dict(values)
        values["hyperparameters"] = Hyperparameters(**values["hyperparameters"])
        params = get_kind(values["kind"]).params_class
        values["kind_params"] = params(**values["kind_params"])
        return cls(**values)


_SHARED = {f.name for f in dataclasses.fields(Hyperparameters)}


def build_train_spec(
    model_name: str,
    kind: str = "",
    dataset: str = "",
    split: str = "",
    test_fraction: float = 0.0,
    seed: int | None = None,
    hyperparameters: dict[str, Any] | None = None,
    objective: str = "",
    kind_params: dict[str, Any] | None = None,
    kind_params_for: str | None = None,
    data_dir: str | os.PathLike | None = None,
) -> TrainSpec:
    """Validates a training request and fills in defaults.

    Args:
        model_name: Model name (folder-safe).
        kind: A registered kind; "" means movierec.kinds.DEFAULT_KIND (RATING_KIND where
            the objective asked for is "rating").
        dataset: A MovieLens dataset's name, or one imported into the data folder; ""
            means "ml-100k". One of implicit feedback takes the retrieval objective only.
        split: Split name; "" means "u1" for ml-100k, else "random". "temporal" and
            "last" need timestamps.
        test_fraction: For splits "random" and "temporal"; 0 means 0.2.
        seed: Seed; None means 42.
        hyperparameters: Overrides of the shared Hyperparameters; None values are ignored.
            Names of the kind's own hyperparameters are accepted here too (the contract's
            deprecated fields) and must agree with kind_params.
        objective: "retrieval" or "rating"; "" means the kind's first (retrieval, but
            rating for ranking kinds).
        kind_params: Overrides of the kind's hyperparameters; None values are ignored.
        kind_params_for: The kind kind_params were written for; must equal `kind`.
        data_dir: The data folder imported datasets are found in (None:
            MOVIEREC_DATA_DIR, else the cache folder, as the job will look).

    Raises:
        InvalidRequest: naming the first bad value.
    """
    check_model_name(model_name)
    kind = kind or (RATING_KIND if objective == RATING else DEFAULT_KIND)
    registered = get_kind(kind)
    params_class = registered.params_class
    objective = objective or registered.objectives[0]
    if objective not in OBJECTIVES:
        raise InvalidRequest(f"unknown objective {objective!r}; choose {', '.join(OBJECTIVES)}")
    if objective not in registered.objectives:
        raise InvalidRequest(
            f"kind {kind!r} trains the {' or '.join(registered.objectives)} objective only,"
            f" not {objective!r}"
        )
    if kind_params_for not in (None, kind):
        raise InvalidRequest(
            f"{kind_params_for} hyperparameters were given for a model of kind {kind!r}"
        )
    dataset = dataset or "ml-100k"
    split = split or ("u1" if dataset == "ml-100k" else RANDOM)
    try:
        traits = dataset_traits(dataset, data_dir)
        check_split_name(dataset, split, traits.has_timestamps)
    except DatasetError as error:
        raise InvalidRequest(str(error)) from error
    if traits.implicit and objective == RATING:
        raise InvalidRequest(
            f"dataset {dataset} holds implicit feedback (interactions without ratings): the"
            f" rating objective, and so Predict's ratings, needs ratings; train kind {kind!r}"
            " for retrieval"
            if RETRIEVAL in registered.objectives
            else f"dataset {dataset} holds implicit feedback (interactions without ratings),"
            f" and kind {kind!r} trains the rating objective only; train a retrieval kind"
        )
    seed = 42 if seed is None else int(seed)
    if not 0 <= seed < 2**32:
        raise InvalidRequest(f"seed must be 0 to {2**32 - 1}, got {seed}")
    if test_fraction and split not in FRACTION_SPLITS:
        raise InvalidRequest(
            f"test_fraction applies to splits {' and '.join(FRACTION_SPLITS)} only; split"
            f" {split!r} holds out a fixed part"
        )
    test_fraction = test_fraction or 0.2
    if not MIN_TEST_FRACTION <= test_fraction <= MAX_TEST_FRACTION:
        raise InvalidRequest(
            f"test_fraction must be {MIN_TEST_FRACTION} to {MAX_TEST_FRACTION}, got {test_fraction}"
        )

    shared = {k: v for k, v in (hyperparameters or {}).items() if v is not None}
    own = {k: v for k, v in (kind_params or {}).items() if v is not None}
    kind_fields = {f.name for f in dataclasses.fields(params_class)}
    for name in sorted(set(shared) - _SHARED):
        if name not in kind_fields:
            raise InvalidRequest(f"hyperparameter {name!r} does not apply to kind {kind!r}")
        value = shared.pop(name)
        if name in own and own[name] != value:
            raise InvalidRequest(
                f"{name} is given twice with different values ({value!r} and {own[name]!r})"
            )
        own[name] = value
    values = {
        **Hyperparameters.defaults(objective),
        **params_class.shared_defaults(objective),
        **shared,
    }
    if traits.implicit:
        if shared.get("min_positive_rating", 0) != 0:
            raise InvalidRequest(
                f"min_positive_rating does not apply to dataset {dataset}: it holds implicit"
                " feedback, where every interaction is a positive"
            )
        values["min_positive_rating"] = 0.0
    if "num_negatives" not in shared:
        sharing = values.get("negative_sharing", Hyperparameters.negative_sharing)
        if sharing in DEFAULT_NEGATIVES:
            values["num_negatives"] = DEFAULT_NEGATIVES[sharing]
    try:
        params = Hyperparameters(**values)
    except TypeError as error:
        raise InvalidRequest(str(error)) from error
    params.validate()
    if registered.closed_form and params.workers != 1:
        raise InvalidRequest(f"kind {kind!r} fits in closed form in one process: workers must be 1")
    return TrainSpec(
        model_name=model_name,
        kind=kind,
        objective=objective,
        dataset=dataset,
        split=split,
        test_fraction=float(test_fraction),
        seed=seed,
        hyperparameters=params,
        kind_params=params_class.build(objective, own),
    )
