"""Protobuf to SDK dataclasses (and request building), shared by the sync and async clients."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from movierec_client import types
from movierec_client.errors import DataLossError
from movierec_client.v1 import common_pb2, serving_pb2, trainer_pb2


def model_spec(name: str, version: int | None) -> common_pb2.ModelSpec:
    """ModelSpec for a model name and optional version (None: the serving version)."""
    return common_pb2.ModelSpec(name=name, version=version or 0)


def user_features(features: types.UserFeatures) -> common_pb2.UserFeatures:
    """UserFeatures message of the SDK's UserFeatures (None fields left unset)."""
    message = common_pb2.UserFeatures(
        genre_ratings=dict(features.genre_ratings),
        gender=features.gender,
        occupation=features.occupation,
        item_ratings=dict(features.item_ratings),
    )
    for name in ("rating_count", "mean_rating", "age"):
        value = getattr(features, name)
        if value is not None:
            setattr(message, name, value)
    return message


def _instance(user: int | types.UserFeatures, item: int) -> serving_pb2.PredictInstance:
    if isinstance(user, types.UserFeatures):
        return serving_pb2.PredictInstance(user_features=user_features(user), item_id=item)
    return serving_pb2.PredictInstance(user_id=user, item_id=item)


def request_context(timestamp: float | None) -> common_pb2.RequestContext | None:
    """RequestContext of a unix timestamp, None for "now" (unset)."""
    return None if timestamp is None else common_pb2.RequestContext(timestamp=timestamp)


def predict_request(
    model: str,
    pairs: Sequence[tuple[int | types.UserFeatures, int]],
    version: int | None,
    timestamp: float | None = None,
) -> serving_pb2.PredictRequest:
    """PredictRequest for (user, item_id) pairs; a user is a raw id or UserFeatures."""
    return serving_pb2.PredictRequest(
        model=model_spec(model, version),
        instances=[_instance(u, i) for u, i in pairs],
        context=request_context(timestamp),
    )


def recommend_request(
    model: str,
    user_id: int | None,
    k: int,
    include_seen: bool,
    exclude: Sequence[int],
    version: int | None,
    features: types.UserFeatures | None = None,
    num_candidates: int = 0,
    timestamp: float | None = None,
) -> serving_pb2.RecommendRequest:
    """RecommendRequest for a user (raw id) or a user described by features."""
    if (user_id is None) == (features is None):
        raise ValueError("give exactly one of user_id and features")
    request = serving_pb2.RecommendRequest(
        model=model_spec(model, version),
        k=k,
        include_seen=include_seen,
        exclude_item_ids=list(exclude),
        num_candidates=num_candidates,
        context=request_context(timestamp),
    )
    if features is not None:
        request.user_features.CopyFrom(user_features(features))
    elif user_id is not None:
        request.user_id = user_id
    return request


def similar_items_request(
    model: str, item_id: int, k: int, version: int | None
) -> serving_pb2.SimilarItemsRequest:
    """SimilarItemsRequest for an item (raw id)."""
    return serving_pb2.SimilarItemsRequest(model=model_spec(model, version), item_id=item_id, k=k)


def metrics_request(
    model: str,
    version: int | None,
    k: int,
    baseline_version: int | None,
    baseline_model: str | None = None,
    threshold: float | None = None,
) -> serving_pb2.MetricsRequest:
    """MetricsRequest, with a baseline (a version of `baseline_model`, default the same
    model; version None or 0 = its serving version) when either is given."""
    request = serving_pb2.MetricsRequest(model=model_spec(model, version), k=k)
    if baseline_version is not None or baseline_model:
        request.baseline.CopyFrom(model_spec(baseline_model or model, baseline_version))
    if threshold is not None:
        request.relevance_threshold = threshold
    return request


def model_version(message: common_pb2.ModelVersion) -> types.ModelVersion:
    """ModelVersion of its message."""
    return types.ModelVersion(message.name, message.version, message.kind, message.objective)


def scored_items(messages) -> tuple[types.ScoredItem, ...]:
    """ScoredItems of their messages."""
    return tuple(
        types.ScoredItem(m.item_id, m.title, tuple(m.genres), m.year, m.score) for m in messages
    )


def predictions(response: serving_pb2.PredictResponse) -> types.Predictions:
    """Predictions of a PredictResponse."""
    return types.Predictions(
        model_version(response.model),
        tuple(response.ratings),
        tuple(response.scores),
        serving_pb2.ScoreType.Name(response.score_type),
        response.strategy,
        tuple(response.fallback_instances),
    )


def recommendations(response) -> types.Recommendations:
    """Recommendations of a RecommendResponse or SimilarItemsResponse."""
    if isinstance(response, serving_pb2.RecommendResponse):
        return types.Recommendations(
            model_version(response.model),
            scored_items(response.items),
            response.strategy,
            response.reason,
            model_version(response.candidates_from)
            if response.HasField("candidates_from")
            else None,
        )
    return types.Recommendations(model_version(response.model), scored_items(response.items))


def evaluation(message: common_pb2.EvaluationMetrics) -> types.Evaluation:
    """Evaluation of its message."""
    return types.Evaluation(
        model_version(message.model), message.split, message.num_ratings, dict(message.values)
    )


def metrics_report(response: serving_pb2.MetricsResponse) -> types.MetricsReport:
    """MetricsReport of a MetricsResponse."""
    return types.MetricsReport(
        model_version(response.model),
        evaluation(response.metrics),
        evaluation(response.baseline) if response.HasField("baseline") else None,
        evaluation(response.popularity) if response.HasField("popularity") else None,
    )


def model_status(message: serving_pb2.ModelStatus) -> types.ModelStatus:
    """ModelStatus of its message."""
    state_name = serving_pb2.VersionStatus.State.Name
    policy = message.policy
    return types.ModelStatus(
        message.name,
        message.serving_version,
        tuple(
            types.VersionStatus(v.version, state_name(v.state), v.error, v.kind, v.loaded_at_unix)
            for v in message.versions
        ),
        types.ServingPolicy(
            serving_pb2.ServingPolicy.Mode.Name(policy.mode),
            policy.pinned_version,
            policy.source,
            policy.reason,
            policy.updated_at_unix,
            policy.error,
            policy.keep_versions,
        ),
    )


def model_statuses(response: serving_pb2.GetModelStatusResponse) -> tuple[types.ModelStatus, ...]:
    """ModelStatuses of a GetModelStatusResponse."""
    return tuple(model_status(m) for m in response.models)


def version_ids(response: serving_pb2.ListIdsResponse) -> types.VersionIds:
    """VersionIds of a ListIdsResponse."""
    return types.VersionIds(
        model_version(response.model),
        tuple(response.user_ids),
        tuple(response.user_rating_counts),
        tuple(response.item_ids),
        response.num_users,
        response.num_items,
    )


def set_serving_version_request(
    model: str, version: int | None, latest: bool, rollback: bool, reason: str
) -> serving_pb2.SetServingVersionRequest:
    """SetServingVersionRequest for exactly one of version, latest and rollback.

    Raises:
        ValueError: none or several of them.
    """
    chosen = [version is not None, latest, rollback]
    if sum(chosen) != 1:
        raise ValueError("give exactly one of version, latest=True or rollback=True")
    request = serving_pb2.SetServingVersionRequest(model_name=model, reason=reason)
    if version is not None:
        request.version = version
    elif latest:
        request.latest = True
    else:
        request.rollback = True
    return request


def train_request(
    model: str,
    kind: str,
    objective: str,
    dataset: str,
    split: str,
    seed: int | None,
    test_fraction: float,
    hyperparameters: Mapping[str, Any],
    max_seconds: float | None = None,
) -> trainer_pb2.TrainRequest:
    """TrainRequest; hyperparameters with None values are left unset (server defaults),
    as is max_seconds when None (the trainer's limit).

    A name the kind's own message has (the TrainRequest oneof field named after the kind)
    goes there, any other into the shared Hyperparameters, so the SDK needs no list of
    kinds.

    Raises:
        ValueError: a name neither message has.
    """
    dataset_spec = trainer_pb2.DatasetSpec(name=dataset, split=split, test_fraction=test_fraction)
    if seed is not None:
        dataset_spec.seed = seed
    oneof = trainer_pb2.TrainRequest.DESCRIPTOR.oneofs_by_name["kind_hyperparameters"]
    kinds = {field.name for field in oneof.fields}
    kind_names = (
        set(getattr(trainer_pb2.TrainRequest(), kind).DESCRIPTOR.fields_by_name)
        if kind in kinds
        else set()
    )
    shared_names = set(trainer_pb2.Hyperparameters.DESCRIPTOR.fields_by_name)
    given = {k: v for k, v in hyperparameters.items() if v is not None}
    own = {k: v for k, v in given.items() if k in kind_names}
    shared = {k: v for k, v in given.items() if k not in kind_names}
    unknown = sorted(set(shared) - shared_names)
    if unknown:
        where = f"kind {kind!r}" if kind in kinds else f"a kind ({', '.join(sorted(kinds))})"
        raise ValueError(f"hyperparameters {', '.join(unknown)} need {where} that has them")
    request = trainer_pb2.TrainRequest(
        model_name=model,
        kind=kind,
        objective=objective,
        dataset=dataset_spec,
        hyperparameters=trainer_pb2.Hyperparameters(**shared),
    )
    if own:
        message = getattr(request, kind)
        message.SetInParent()
        for name, value in own.items():
            if isinstance(value, list | tuple):
                getattr(message, name).extend(value)
            else:
                setattr(message, name, value)
    if max_seconds is not None:
        request.max_seconds = max_seconds
    return request


def epoch(message: trainer_pb2.EpochProgress) -> types.EpochProgress:
    """EpochProgress of its message."""
    return types.EpochProgress(
        message.epoch,
        message.loss,
        message.val_rmse,
        message.seconds,
        message.val_ndcg,
        message.val_loss,
    )


def job(message: trainer_pb2.Job) -> types.Job:
    """Job of its message."""
    request = message.request
    params = request.hyperparameters
    return types.Job(
        job_id=message.job_id,
        model_name=request.model_name,
        kind=request.kind,
        dataset=request.dataset.name,
        split=request.dataset.split,
        hyperparameters={f.name: getattr(params, f.name) for f, _ in params.ListFields()},
        state=trainer_pb2.JobState.Name(message.state),
        error=message.error,
        version=message.version,
        epochs=tuple(epoch(e) for e in message.epochs),
        metrics=dict(message.metrics),
        created_at=message.created_at_unix,
        started_at=message.started_at_unix,
        finished_at=message.finished_at_unix,
        objective=request.objective,
        kind_hyperparameters=_kind_hyperparameters(request),
        max_seconds=message.max_seconds,
    )


def job_page(message: trainer_pb2.ListJobsResponse) -> types.JobPage:
    """JobPage of a ListJobs response."""
    return types.JobPage(tuple(job(j) for j in message.jobs), message.next_page_token)


def _kind_hyperparameters(request: trainer_pb2.TrainRequest) -> dict[str, object]:
    chosen = request.WhichOneof("kind_hyperparameters")
    if not chosen:
        return {}
    return {
        field.name: list(value) if field.is_repeated else value
        for field, value in getattr(request, chosen).ListFields()
    }


def job_event(message: trainer_pb2.JobEvent) -> types.JobEvent:
    """JobEvent of its message."""
    return types.JobEvent(
        job(message.job), epoch(message.epoch) if message.HasField("epoch") else None
    )


def artifact(model: str, chunks: Iterable[trainer_pb2.ArtifactChunk]) -> types.Artifact:
    """The Artifact of a GetArtifact stream, checked against the size and sha256 its first
    chunk announced.

    Raises:
        DataLossError: the bytes received are not the artifact announced.
    """
    first = None
    parts = []
    for chunk in chunks:
        first = first or chunk
        parts.append(chunk.data)
    if first is None:
        raise DataLossError(f"GetArtifact of {model} sent nothing")
    data = b"".join(parts)
    if len(data) != first.size or hashlib.sha256(data).hexdigest() != first.sha256:
        raise DataLossError(
            f"{model} version {first.version}: {first.name} arrived with {len(data)} bytes"
            f" that do not match its announced size {first.size} and sha256"
        )
    return types.Artifact(model, first.version, first.name, first.content_type, data)


def stored_models(response: trainer_pb2.ListModelsResponse) -> tuple[types.StoredModel, ...]:
    """StoredModels of a ListModelsResponse."""
    state_name = trainer_pb2.VersionInfo.State.Name
    return tuple(
        types.StoredModel(
            m.name,
            tuple(
                types.StoredVersion(
                    v.version,
                    state_name(v.state),
                    v.kind,
                    v.split,
                    dict(v.metrics),
                    v.created_at_unix,
                    v.error,
                    v.objective,
                    tuple(v.artifacts),
                )
                for v in m.versions
            ),
        )
        for m in response.models
    )
