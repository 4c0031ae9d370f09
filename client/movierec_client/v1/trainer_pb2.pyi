from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    QUEUED: _ClassVar[JobState]
    RUNNING: _ClassVar[JobState]
    SUCCEEDED: _ClassVar[JobState]
    FAILED: _ClassVar[JobState]
    CANCELLED: _ClassVar[JobState]
JOB_STATE_UNSPECIFIED: JobState
QUEUED: JobState
RUNNING: JobState
SUCCEEDED: JobState
FAILED: JobState
CANCELLED: JobState

class DatasetSpec(_message.Message):
    __slots__ = ("name", "split", "test_fraction", "seed")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    TEST_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    name: str
    split: str
    test_fraction: float
    seed: int
    def __init__(self, name: _Optional[str] = ..., split: _Optional[str] = ..., test_fraction: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class Hyperparameters(_message.Message):
    __slots__ = ("epochs", "embedding_dim", "learning_rate", "batch_size", "l2", "output", "patience", "validation_fraction", "num_negatives", "negative_sampling", "retrieval_loss", "min_positive_rating", "rating_loss", "optimizer", "workers", "negative_sharing")
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    L2_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    PATIENCE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    NUM_NEGATIVES_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_SAMPLING_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITIVE_RATING_FIELD_NUMBER: _ClassVar[int]
    RATING_LOSS_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_SHARING_FIELD_NUMBER: _ClassVar[int]
    epochs: int
    embedding_dim: int
    learning_rate: float
    batch_size: int
    l2: float
    output: str
    patience: int
    validation_fraction: float
    num_negatives: int
    negative_sampling: str
    retrieval_loss: str
    min_positive_rating: float
    rating_loss: str
    optimizer: str
    workers: int
    negative_sharing: str
    def __init__(self, epochs: _Optional[int] = ..., embedding_dim: _Optional[int] = ..., learning_rate: _Optional[float] = ..., batch_size: _Optional[int] = ..., l2: _Optional[float] = ..., output: _Optional[str] = ..., patience: _Optional[int] = ..., validation_fraction: _Optional[float] = ..., num_negatives: _Optional[int] = ..., negative_sampling: _Optional[str] = ..., retrieval_loss: _Optional[str] = ..., min_positive_rating: _Optional[float] = ..., rating_loss: _Optional[str] = ..., optimizer: _Optional[str] = ..., workers: _Optional[int] = ..., negative_sharing: _Optional[str] = ...) -> None: ...

class DotHyperparameters(_message.Message):
    __slots__ = ("embedding_dim", "l2", "output")
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    L2_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    embedding_dim: int
    l2: float
    output: str
    def __init__(self, embedding_dim: _Optional[int] = ..., l2: _Optional[float] = ..., output: _Optional[str] = ...) -> None: ...

class EaseHyperparameters(_message.Message):
    __slots__ = ("l2", "low_rating_weight")
    L2_FIELD_NUMBER: _ClassVar[int]
    LOW_RATING_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    l2: float
    low_rating_weight: float
    def __init__(self, l2: _Optional[float] = ..., low_rating_weight: _Optional[float] = ...) -> None: ...

class TwoTowerHyperparameters(_message.Message):
    __slots__ = ("layers", "l2", "use_demographics", "temperature")
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    L2_FIELD_NUMBER: _ClassVar[int]
    USE_DEMOGRAPHICS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    layers: _containers.RepeatedScalarFieldContainer[int]
    l2: float
    use_demographics: bool
    temperature: float
    def __init__(self, layers: _Optional[_Iterable[int]] = ..., l2: _Optional[float] = ..., use_demographics: _Optional[bool] = ..., temperature: _Optional[float] = ...) -> None: ...

class RankingHyperparameters(_message.Message):
    __slots__ = ("embedding_dim", "layers", "l2", "candidate_model", "num_candidates")
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    L2_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_MODEL_FIELD_NUMBER: _ClassVar[int]
    NUM_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    embedding_dim: int
    layers: _containers.RepeatedScalarFieldContainer[int]
    l2: float
    candidate_model: str
    num_candidates: int
    def __init__(self, embedding_dim: _Optional[int] = ..., layers: _Optional[_Iterable[int]] = ..., l2: _Optional[float] = ..., candidate_model: _Optional[str] = ..., num_candidates: _Optional[int] = ...) -> None: ...

class RankingContextHyperparameters(_message.Message):
    __slots__ = ("embedding_dim", "layers", "l2", "candidate_model", "num_candidates", "time_buckets")
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    L2_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_MODEL_FIELD_NUMBER: _ClassVar[int]
    NUM_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    TIME_BUCKETS_FIELD_NUMBER: _ClassVar[int]
    embedding_dim: int
    layers: _containers.RepeatedScalarFieldContainer[int]
    l2: float
    candidate_model: str
    num_candidates: int
    time_buckets: int
    def __init__(self, embedding_dim: _Optional[int] = ..., layers: _Optional[_Iterable[int]] = ..., l2: _Optional[float] = ..., candidate_model: _Optional[str] = ..., num_candidates: _Optional[int] = ..., time_buckets: _Optional[int] = ...) -> None: ...

class TrainRequest(_message.Message):
    __slots__ = ("model_name", "kind", "dataset", "hyperparameters", "objective", "dot", "two_tower", "ranking", "ranking_context", "ease", "max_seconds")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    DOT_FIELD_NUMBER: _ClassVar[int]
    TWO_TOWER_FIELD_NUMBER: _ClassVar[int]
    RANKING_FIELD_NUMBER: _ClassVar[int]
    RANKING_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    EASE_FIELD_NUMBER: _ClassVar[int]
    MAX_SECONDS_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    kind: str
    dataset: DatasetSpec
    hyperparameters: Hyperparameters
    objective: str
    dot: DotHyperparameters
    two_tower: TwoTowerHyperparameters
    ranking: RankingHyperparameters
    ranking_context: RankingContextHyperparameters
    ease: EaseHyperparameters
    max_seconds: float
    def __init__(self, model_name: _Optional[str] = ..., kind: _Optional[str] = ..., dataset: _Optional[_Union[DatasetSpec, _Mapping]] = ..., hyperparameters: _Optional[_Union[Hyperparameters, _Mapping]] = ..., objective: _Optional[str] = ..., dot: _Optional[_Union[DotHyperparameters, _Mapping]] = ..., two_tower: _Optional[_Union[TwoTowerHyperparameters, _Mapping]] = ..., ranking: _Optional[_Union[RankingHyperparameters, _Mapping]] = ..., ranking_context: _Optional[_Union[RankingContextHyperparameters, _Mapping]] = ..., ease: _Optional[_Union[EaseHyperparameters, _Mapping]] = ..., max_seconds: _Optional[float] = ...) -> None: ...

class EpochProgress(_message.Message):
    __slots__ = ("epoch", "loss", "val_rmse", "seconds", "val_ndcg", "val_loss")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    VAL_RMSE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    VAL_NDCG_FIELD_NUMBER: _ClassVar[int]
    VAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    loss: float
    val_rmse: float
    seconds: float
    val_ndcg: float
    val_loss: float
    def __init__(self, epoch: _Optional[int] = ..., loss: _Optional[float] = ..., val_rmse: _Optional[float] = ..., seconds: _Optional[float] = ..., val_ndcg: _Optional[float] = ..., val_loss: _Optional[float] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "request", "state", "error", "version", "epochs", "metrics", "created_at_unix", "started_at_unix", "finished_at_unix", "max_seconds")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_UNIX_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_UNIX_FIELD_NUMBER: _ClassVar[int]
    MAX_SECONDS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    request: TrainRequest
    state: JobState
    error: str
    version: int
    epochs: _containers.RepeatedCompositeFieldContainer[EpochProgress]
    metrics: _containers.ScalarMap[str, float]
    created_at_unix: float
    started_at_unix: float
    finished_at_unix: float
    max_seconds: float
    def __init__(self, job_id: _Optional[str] = ..., request: _Optional[_Union[TrainRequest, _Mapping]] = ..., state: _Optional[_Union[JobState, str]] = ..., error: _Optional[str] = ..., version: _Optional[int] = ..., epochs: _Optional[_Iterable[_Union[EpochProgress, _Mapping]]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., created_at_unix: _Optional[float] = ..., started_at_unix: _Optional[float] = ..., finished_at_unix: _Optional[float] = ..., max_seconds: _Optional[float] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job", "epoch")
    JOB_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    job: Job
    epoch: EpochProgress
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., epoch: _Optional[_Union[EpochProgress, _Mapping]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("model_name",)
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    def __init__(self, model_name: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "versions")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    versions: _containers.RepeatedCompositeFieldContainer[VersionInfo]
    def __init__(self, name: _Optional[str] = ..., versions: _Optional[_Iterable[_Union[VersionInfo, _Mapping]]] = ...) -> None: ...

class VersionInfo(_message.Message):
    __slots__ = ("version", "state", "kind", "split", "metrics", "created_at_unix", "error", "objective", "artifacts")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[VersionInfo.State]
        READY: _ClassVar[VersionInfo.State]
        CORRUPT: _ClassVar[VersionInfo.State]
    STATE_UNSPECIFIED: VersionInfo.State
    READY: VersionInfo.State
    CORRUPT: VersionInfo.State
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    version: int
    state: VersionInfo.State
    kind: str
    split: str
    metrics: _containers.ScalarMap[str, float]
    created_at_unix: float
    error: str
    objective: str
    artifacts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, version: _Optional[int] = ..., state: _Optional[_Union[VersionInfo.State, str]] = ..., kind: _Optional[str] = ..., split: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., created_at_unix: _Optional[float] = ..., error: _Optional[str] = ..., objective: _Optional[str] = ..., artifacts: _Optional[_Iterable[str]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("model_name", "states", "page_size", "page_token")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    states: _containers.RepeatedScalarFieldContainer[JobState]
    page_size: int
    page_token: str
    def __init__(self, model_name: _Optional[str] = ..., states: _Optional[_Iterable[_Union[JobState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetArtifactRequest(_message.Message):
    __slots__ = ("model_name", "version", "name")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: int
    name: str
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class ArtifactChunk(_message.Message):
    __slots__ = ("version", "name", "content_type", "size", "sha256", "data")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    version: int
    name: str
    content_type: str
    size: int
    sha256: str
    data: bytes
    def __init__(self, version: _Optional[int] = ..., name: _Optional[str] = ..., content_type: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...
