from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelSpec(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ModelVersion(_message.Message):
    __slots__ = ("name", "version", "kind", "objective")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    kind: str
    objective: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., kind: _Optional[str] = ..., objective: _Optional[str] = ...) -> None: ...

class RequestContext(_message.Message):
    __slots__ = ("timestamp",)
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    timestamp: float
    def __init__(self, timestamp: _Optional[float] = ...) -> None: ...

class UserFeatures(_message.Message):
    __slots__ = ("genre_ratings", "rating_count", "mean_rating", "age", "gender", "occupation", "item_ratings")
    class GenreRatingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ItemRatingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: float
        def __init__(self, key: _Optional[int] = ..., value: _Optional[float] = ...) -> None: ...
    GENRE_RATINGS_FIELD_NUMBER: _ClassVar[int]
    RATING_COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_RATING_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_FIELD_NUMBER: _ClassVar[int]
    ITEM_RATINGS_FIELD_NUMBER: _ClassVar[int]
    genre_ratings: _containers.ScalarMap[str, float]
    rating_count: int
    mean_rating: float
    age: int
    gender: str
    occupation: str
    item_ratings: _containers.ScalarMap[int, float]
    def __init__(self, genre_ratings: _Optional[_Mapping[str, float]] = ..., rating_count: _Optional[int] = ..., mean_rating: _Optional[float] = ..., age: _Optional[int] = ..., gender: _Optional[str] = ..., occupation: _Optional[str] = ..., item_ratings: _Optional[_Mapping[int, float]] = ...) -> None: ...

class ScoredItem(_message.Message):
    __slots__ = ("item_id", "title", "genres", "score", "year")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    item_id: int
    title: str
    genres: _containers.RepeatedScalarFieldContainer[str]
    score: float
    year: int
    def __init__(self, item_id: _Optional[int] = ..., title: _Optional[str] = ..., genres: _Optional[_Iterable[str]] = ..., score: _Optional[float] = ..., year: _Optional[int] = ...) -> None: ...

class EvaluationMetrics(_message.Message):
    __slots__ = ("model", "split", "num_ratings", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    NUM_RATINGS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    model: ModelVersion
    split: str
    num_ratings: int
    values: _containers.ScalarMap[str, float]
    def __init__(self, model: _Optional[_Union[ModelVersion, _Mapping]] = ..., split: _Optional[str] = ..., num_ratings: _Optional[int] = ..., values: _Optional[_Mapping[str, float]] = ...) -> None: ...
