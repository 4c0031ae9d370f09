"""Plain frozen dataclasses the SDK returns (never protobuf messages). Ids are raw ids."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """The model version that answered."""

    name: str
    version: int
    kind: str


@dataclasses.dataclass(frozen=True)
class ScoredItem:
    """An item with its metadata and score (predicted rating, or cosine similarity)."""

    item_id: int
    title: str
    genres: tuple[str, ...]
    year: int
    score: float


@dataclasses.dataclass(frozen=True)
class Predictions:
    """Predicted ratings in request order."""

    model: ModelVersion
    ratings: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class Recommendations:
    """Top-k items, best first."""

    model: ModelVersion
    items: tuple[ScoredItem, ...]


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Metrics of one version on its held-out split."""

    model: ModelVersion
    split: str
    num_ratings: int
    values: dict[str, float]


@dataclasses.dataclass(frozen=True)
class MetricsReport:
    """Evaluation of a version, and of a baseline version when one was asked for."""

    model: ModelVersion
    metrics: Evaluation
    baseline: Evaluation | None


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    """A version's state in the serving process: AVAILABLE, FAILED or UNLOADED."""

    version: int
    state: str
    error: str
    kind: str
    loaded_at: float


@dataclasses.dataclass(frozen=True)
class ModelStatus:
    """Serving state of one model; serving_version is 0 while none is loaded."""

    name: str
    serving_version: int
    versions: tuple[VersionStatus, ...]


@dataclasses.dataclass(frozen=True)
class EpochProgress:
    """Training loss and validation RMSE after one epoch."""

    epoch: int
    loss: float
    val_rmse: float
    seconds: float


@dataclasses.dataclass(frozen=True)
class Job:
    """A training job: QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED."""

    job_id: str
    model_name: str
    kind: str
    dataset: str
    split: str
    hyperparameters: dict[str, object]
    state: str
    error: str
    version: int
    epochs: tuple[EpochProgress, ...]
    metrics: dict[str, float]
    created_at: float
    started_at: float
    finished_at: float

    @property
    def done(self) -> bool:
        """True once the job is SUCCEEDED, FAILED or CANCELLED."""
        return self.state in ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclasses.dataclass(frozen=True)
class JobEvent:
    """A job after a change; `epoch` is set when the change is an epoch's end."""

    job: Job
    epoch: EpochProgress | None


@dataclasses.dataclass(frozen=True)
class StoredVersion:
    """A version in the store: READY or CORRUPT, with its headline test metrics."""

    version: int
    state: str
    kind: str
    split: str
    metrics: dict[str, float]
    created_at: float
    error: str


@dataclasses.dataclass(frozen=True)
class StoredModel:
    """A model in the store with its versions, newest first."""

    name: str
    versions: tuple[StoredVersion, ...]
