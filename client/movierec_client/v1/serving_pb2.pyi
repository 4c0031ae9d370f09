from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScoreType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCORE_TYPE_UNSPECIFIED: _ClassVar[ScoreType]
    RATING: _ClassVar[ScoreType]
    RELEVANCE: _ClassVar[ScoreType]
SCORE_TYPE_UNSPECIFIED: ScoreType
RATING: ScoreType
RELEVANCE: ScoreType

class PredictInstance(_message.Message):
    __slots__ = ("user_id", "user_features", "item_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FEATURES_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    user_features: _common_pb2.UserFeatures
    item_id: int
    def __init__(self, user_id: _Optional[int] = ..., user_features: _Optional[_Union[_common_pb2.UserFeatures, _Mapping]] = ..., item_id: _Optional[int] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("model", "instances", "context")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelSpec
    instances: _containers.RepeatedCompositeFieldContainer[PredictInstance]
    context: _common_pb2.RequestContext
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelSpec, _Mapping]] = ..., instances: _Optional[_Iterable[_Union[PredictInstance, _Mapping]]] = ..., context: _Optional[_Union[_common_pb2.RequestContext, _Mapping]] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("model", "ratings", "scores", "score_type", "strategy", "fallback_instances")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    SCORE_TYPE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelVersion
    ratings: _containers.RepeatedScalarFieldContainer[float]
    scores: _containers.RepeatedScalarFieldContainer[float]
    score_type: ScoreType
    strategy: str
    fallback_instances: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelVersion, _Mapping]] = ..., ratings: _Optional[_Iterable[float]] = ..., scores: _Optional[_Iterable[float]] = ..., score_type: _Optional[_Union[ScoreType, str]] = ..., strategy: _Optional[str] = ..., fallback_instances: _Optional[_Iterable[int]] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("model", "user_id", "user_features", "k", "include_seen", "exclude_item_ids", "num_candidates", "context")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FEATURES_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SEEN_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    NUM_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelSpec
    user_id: int
    user_features: _common_pb2.UserFeatures
    k: int
    include_seen: bool
    exclude_item_ids: _containers.RepeatedScalarFieldContainer[int]
    num_candidates: int
    context: _common_pb2.RequestContext
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelSpec, _Mapping]] = ..., user_id: _Optional[int] = ..., user_features: _Optional[_Union[_common_pb2.UserFeatures, _Mapping]] = ..., k: _Optional[int] = ..., include_seen: _Optional[bool] = ..., exclude_item_ids: _Optional[_Iterable[int]] = ..., num_candidates: _Optional[int] = ..., context: _Optional[_Union[_common_pb2.RequestContext, _Mapping]] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("model", "items", "strategy", "reason", "candidates_from")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FROM_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelVersion
    items: _containers.RepeatedCompositeFieldContainer[_common_pb2.ScoredItem]
    strategy: str
    reason: str
    candidates_from: _common_pb2.ModelVersion
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelVersion, _Mapping]] = ..., items: _Optional[_Iterable[_Union[_common_pb2.ScoredItem, _Mapping]]] = ..., strategy: _Optional[str] = ..., reason: _Optional[str] = ..., candidates_from: _Optional[_Union[_common_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class SimilarItemsRequest(_message.Message):
    __slots__ = ("model", "item_id", "k")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelSpec
    item_id: int
    k: int
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelSpec, _Mapping]] = ..., item_id: _Optional[int] = ..., k: _Optional[int] = ...) -> None: ...

class SimilarItemsResponse(_message.Message):
    __slots__ = ("model", "items")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelVersion
    items: _containers.RepeatedCompositeFieldContainer[_common_pb2.ScoredItem]
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelVersion, _Mapping]] = ..., items: _Optional[_Iterable[_Union[_common_pb2.ScoredItem, _Mapping]]] = ...) -> None: ...

class MetricsRequest(_message.Message):
    __slots__ = ("model", "k", "baseline", "relevance_threshold")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    RELEVANCE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelSpec
    k: int
    baseline: _common_pb2.ModelSpec
    relevance_threshold: float
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelSpec, _Mapping]] = ..., k: _Optional[int] = ..., baseline: _Optional[_Union[_common_pb2.ModelSpec, _Mapping]] = ..., relevance_threshold: _Optional[float] = ...) -> None: ...

class MetricsResponse(_message.Message):
    __slots__ = ("model", "metrics", "baseline", "popularity")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    POPULARITY_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelVersion
    metrics: _common_pb2.EvaluationMetrics
    baseline: _common_pb2.EvaluationMetrics
    popularity: _common_pb2.EvaluationMetrics
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelVersion, _Mapping]] = ..., metrics: _Optional[_Union[_common_pb2.EvaluationMetrics, _Mapping]] = ..., baseline: _Optional[_Union[_common_pb2.EvaluationMetrics, _Mapping]] = ..., popularity: _Optional[_Union[_common_pb2.EvaluationMetrics, _Mapping]] = ...) -> None: ...

class GetModelStatusRequest(_message.Message):
    __slots__ = ("model_name",)
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    def __init__(self, model_name: _Optional[str] = ...) -> None: ...

class GetModelStatusResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelStatus]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelStatus, _Mapping]]] = ...) -> None: ...

class ModelStatus(_message.Message):
    __slots__ = ("name", "serving_version", "versions", "policy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVING_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    serving_version: int
    versions: _containers.RepeatedCompositeFieldContainer[VersionStatus]
    policy: ServingPolicy
    def __init__(self, name: _Optional[str] = ..., serving_version: _Optional[int] = ..., versions: _Optional[_Iterable[_Union[VersionStatus, _Mapping]]] = ..., policy: _Optional[_Union[ServingPolicy, _Mapping]] = ...) -> None: ...

class ServingPolicy(_message.Message):
    __slots__ = ("mode", "pinned_version", "source", "reason", "updated_at_unix", "error", "keep_versions")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[ServingPolicy.Mode]
        LATEST: _ClassVar[ServingPolicy.Mode]
        PINNED: _ClassVar[ServingPolicy.Mode]
    MODE_UNSPECIFIED: ServingPolicy.Mode
    LATEST: ServingPolicy.Mode
    PINNED: ServingPolicy.Mode
    MODE_FIELD_NUMBER: _ClassVar[int]
    PINNED_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_UNIX_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    KEEP_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    mode: ServingPolicy.Mode
    pinned_version: int
    source: str
    reason: str
    updated_at_unix: float
    error: str
    keep_versions: int
    def __init__(self, mode: _Optional[_Union[ServingPolicy.Mode, str]] = ..., pinned_version: _Optional[int] = ..., source: _Optional[str] = ..., reason: _Optional[str] = ..., updated_at_unix: _Optional[float] = ..., error: _Optional[str] = ..., keep_versions: _Optional[int] = ...) -> None: ...

class SetServingVersionRequest(_message.Message):
    __slots__ = ("model_name", "version", "latest", "rollback", "reason")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: int
    latest: bool
    rollback: bool
    reason: str
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[int] = ..., latest: _Optional[bool] = ..., rollback: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class VersionStatus(_message.Message):
    __slots__ = ("version", "state", "error", "kind", "loaded_at_unix")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[VersionStatus.State]
        AVAILABLE: _ClassVar[VersionStatus.State]
        FAILED: _ClassVar[VersionStatus.State]
        UNLOADED: _ClassVar[VersionStatus.State]
    STATE_UNSPECIFIED: VersionStatus.State
    AVAILABLE: VersionStatus.State
    FAILED: VersionStatus.State
    UNLOADED: VersionStatus.State
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_UNIX_FIELD_NUMBER: _ClassVar[int]
    version: int
    state: VersionStatus.State
    error: str
    kind: str
    loaded_at_unix: float
    def __init__(self, version: _Optional[int] = ..., state: _Optional[_Union[VersionStatus.State, str]] = ..., error: _Optional[str] = ..., kind: _Optional[str] = ..., loaded_at_unix: _Optional[float] = ...) -> None: ...

class ListIdsRequest(_message.Message):
    __slots__ = ("model", "max_ids")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_IDS_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelSpec
    max_ids: int
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelSpec, _Mapping]] = ..., max_ids: _Optional[int] = ...) -> None: ...

class ListIdsResponse(_message.Message):
    __slots__ = ("model", "user_ids", "user_rating_counts", "item_ids", "num_users", "num_items")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    USER_RATING_COUNTS_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    NUM_USERS_FIELD_NUMBER: _ClassVar[int]
    NUM_ITEMS_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelVersion
    user_ids: _containers.RepeatedScalarFieldContainer[int]
    user_rating_counts: _containers.RepeatedScalarFieldContainer[int]
    item_ids: _containers.RepeatedScalarFieldContainer[int]
    num_users: int
    num_items: int
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelVersion, _Mapping]] = ..., user_ids: _Optional[_Iterable[int]] = ..., user_rating_counts: _Optional[_Iterable[int]] = ..., item_ids: _Optional[_Iterable[int]] = ..., num_users: _Optional[int] = ..., num_items: _Optional[int] = ...) -> None: ...
