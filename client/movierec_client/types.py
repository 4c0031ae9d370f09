"""Plain frozen dataclasses the SDK returns (never protobuf messages). Ids are raw ids."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """The model version that answered."""

    name: str
    version: int
    kind: str
    objective: str = ""


@dataclasses.dataclass(frozen=True)
class UserFeatures:
    """A user described only by features (cold start).

    Attributes:
        genre_ratings: Genre name (as the dataset spells it, e.g. "Sci-Fi") -> preferred
            rating on the dataset's scale; at least one genre or one rated item.
        rating_count: Ratings the user has given, or None (the training users' median).
        mean_rating: The user's mean rating, or None (the mean of genre_ratings).
        age: Years, or None.
        gender: "M" or "F", "" unknown.
        occupation: One of the dataset's occupations, "" unknown.
        item_ratings: Raw item id -> the user's rating of it, on the dataset's scale
            (e.g. {50: 5.0, 181: 4.0}); Recommend leaves these items out.
    """

    genre_ratings: dict[str, float] = dataclasses.field(default_factory=dict)
    rating_count: int | None = None
    mean_rating: float | None = None
    age: int | None = None
    gender: str = ""
    occupation: str = ""
    item_ratings: dict[int, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ScoredItem:
    """An item with its metadata and score: a predicted rating (rating versions), a
    relevance score (retrieval versions), a rating count (the popularity fallback) or a
    cosine similarity (SimilarItems).
    """

    item_id: int
    title: str
    genres: tuple[str, ...]
    year: int
    score: float


@dataclasses.dataclass(frozen=True)
class Predictions:
    """Scores in request order.

    Attributes:
        model: The version that answered.
        ratings: Predicted ratings; empty unless score_type is "RATING".
        scores: One score per pair: the rating, or a retrieval version's relevance score.
        score_type: "RATING" or "RELEVANCE".
        strategy: "model", "user_features" or "popular" (some pair used the fallback).
        fallback: Indices of the pairs the fallback answered.
    """

    model: ModelVersion
    ratings: tuple[float, ...]
    scores: tuple[float, ...] = ()
    score_type: str = "RATING"
    strategy: str = "model"
    fallback: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class Recommendations:
    """Top-k items, best first, and how they were chosen: strategy "model",
    "user_features" or "popular" (the fallback, with its reason). For a two-stage answer
    (a ranking version), candidates_from is the version whose candidates `model`
    re-scored (name "most-popular" for candidates by popularity).
    """

    model: ModelVersion
    items: tuple[ScoredItem, ...]
    strategy: str = "model"
    reason: str = ""
    candidates_from: ModelVersion | None = None


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Metrics of one version on its held-out split."""

    model: ModelVersion
    split: str
    num_ratings: int
    values: dict[str, float]


@dataclasses.dataclass(frozen=True)
class MetricsReport:
    """Evaluation of a version, of a baseline version when one was asked for, and of
    most-popular on the same split."""

    model: ModelVersion
    metrics: Evaluation
    baseline: Evaluation | None
    popularity: Evaluation | None = None


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    """A version's state in the serving process: AVAILABLE, FAILED or UNLOADED."""

    version: int
    state: str
    error: str
    kind: str
    loaded_at: float


@dataclasses.dataclass(frozen=True)
class ServingPolicy:
    """How a model's serving version is chosen: mode LATEST (the newest good version) or
    PINNED (pinned_version, set by a server's --pin flag or SetServingVersion: source
    "flag" or "store"); error says why a pin is not honoured right now."""

    mode: str = "LATEST"
    pinned_version: int = 0
    source: str = ""
    reason: str = ""
    updated_at: float = 0.0
    error: str = ""
    keep_versions: int = 0


@dataclasses.dataclass(frozen=True)
class ModelStatus:
    """Serving state of one model; serving_version is 0 while none is loaded."""

    name: str
    serving_version: int
    versions: tuple[VersionStatus, ...]
    policy: ServingPolicy = ServingPolicy()


@dataclasses.dataclass(frozen=True)
class VersionIds:
    """Raw ids a version knows, ascending (ServingClient.list_ids): users of its training
    data with their training rating counts, and the items it scores; num_users and
    num_items count them all when max_ids cut the lists."""

    model: ModelVersion
    user_ids: tuple[int, ...]
    user_rating_counts: tuple[int, ...]
    item_ids: tuple[int, ...]
    num_users: int
    num_items: int


@dataclasses.dataclass(frozen=True)
class EpochProgress:
    """Training loss and the validation metric after one epoch (val_rmse for the rating
    objective, val_ndcg = NDCG@10 for retrieval; the other is 0), and for the rating
    objective the loss on the validation share (val_loss, else 0)."""

    epoch: int
    loss: float
    val_rmse: float
    seconds: float
    val_ndcg: float = 0.0
    val_loss: float = 0.0


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
    objective: str = ""
    kind_hyperparameters: dict[str, object] = dataclasses.field(default_factory=dict)
    max_seconds: float = 0.0

    @property
    def done(self) -> bool:
        """True once the job is SUCCEEDED, FAILED or CANCELLED."""
        return self.state in ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclasses.dataclass(frozen=True)
class JobPage:
    """A page of ListJobs: jobs newest first, and the token of the next page ("" at the
    end)."""

    jobs: tuple[Job, ...]
    next_page_token: str


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
    objective: str = ""
    artifacts: tuple[str, ...] = ()
    """Names TrainerClient.get_artifact fetches (the version's pictures)."""


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A file of a version (TrainerClient.get_artifact), its checksum verified."""

    model: str
    version: int
    name: str
    content_type: str
    data: bytes


@dataclasses.dataclass(frozen=True)
class StoredModel:
    """A model in the store with its versions, newest first."""

    name: str
    versions: tuple[StoredVersion, ...]
