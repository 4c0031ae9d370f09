"""ServingService servicer: protobuf in, data plane call, protobuf out."""

from __future__ import annotations

import weakref

from movierec.errors import InvalidRequest
from movierec.kinds.features import UserFeatures
from movierec.serving.dataplane import Evaluation, Ranked, ServingDataPlane, VersionInfo
from movierec.serving.registry import ModelState
from movierec.store.catalog import CatalogIndex
from movierec_client.v1 import common_pb2, serving_pb2, serving_pb2_grpc
from serving_service.encoding import ItemEncoder, predict_response

_VERSION_STATE = {
    "AVAILABLE": serving_pb2.VersionStatus.AVAILABLE,
    "FAILED": serving_pb2.VersionStatus.FAILED,
    "UNLOADED": serving_pb2.VersionStatus.UNLOADED,
}


def version_pb(info: VersionInfo) -> common_pb2.ModelVersion:
    """ModelVersion message of a VersionInfo."""
    return common_pb2.ModelVersion(
        name=info.name, version=info.version, kind=info.kind, objective=info.objective
    )


def evaluation_pb(evaluation: Evaluation) -> common_pb2.EvaluationMetrics:
    """EvaluationMetrics message of an Evaluation."""
    return common_pb2.EvaluationMetrics(
        model=version_pb(evaluation.model),
        split=evaluation.split,
        num_ratings=evaluation.num_ratings,
        values=evaluation.values,
    )


def policy_pb(state: ModelState) -> serving_pb2.ServingPolicy:
    """ServingPolicy message of a ModelState's policy."""
    policy = state.policy
    return serving_pb2.ServingPolicy(
        mode=serving_pb2.ServingPolicy.Mode.Value(policy.mode),
        pinned_version=policy.pinned_version,
        source=policy.source,
        reason=policy.reason,
        updated_at_unix=policy.updated_at,
        error=policy.error,
        keep_versions=state.keep_versions,
    )


def status_pb(state: ModelState) -> serving_pb2.ModelStatus:
    """ModelStatus message of a ModelState."""
    return serving_pb2.ModelStatus(
        name=state.name,
        serving_version=state.serving_version,
        policy=policy_pb(state),
        versions=[
            serving_pb2.VersionStatus(
                version=v.version,
                state=_VERSION_STATE[v.state],
                error=v.error,
                kind=v.kind,
                loaded_at_unix=v.at,
            )
            for v in state.versions
        ],
    )


def features_of(message: common_pb2.UserFeatures) -> UserFeatures:
    """UserFeatures of a UserFeatures message (unset optional fields stay None)."""
    return UserFeatures(
        genre_ratings=dict(message.genre_ratings),
        rating_count=message.rating_count if message.HasField("rating_count") else None,
        mean_rating=message.mean_rating if message.HasField("mean_rating") else None,
        age=message.age if message.HasField("age") else None,
        gender=message.gender,
        occupation=message.occupation,
        item_ratings=dict(message.item_ratings),
    )


def _timestamp(request) -> float | None:
    """The request context's timestamp, None when unset."""
    if request.HasField("context") and request.context.HasField("timestamp"):
        return request.context.timestamp
    return None


def _user(message) -> tuple[int | None, UserFeatures | None]:
    chosen = message.WhichOneof("user")
    if chosen == "user_features":
        return None, features_of(message.user_features)
    return (message.user_id if chosen == "user_id" else None), None


class ServingServicer(serving_pb2_grpc.ServingServiceServicer):
    """Translates ServingService calls to a ServingDataPlane; errors are mapped to status
    codes by service_common.handlers (see add_service).
    """

    RAW_RESPONSES = ("Predict", "Recommend", "SimilarItems")
    """Methods answering serialized bytes (serving_service.encoding)."""
    SLOW_METHODS = ("Metrics", "SetServingVersion", "ListIds")
    """Methods that may compute or load for long; they get their own threads."""

    def __init__(self, plane: ServingDataPlane):
        self.plane = plane
        self._encoders: weakref.WeakKeyDictionary[CatalogIndex, ItemEncoder] = (
            weakref.WeakKeyDictionary()
        )

    def _encoder(self, info: VersionInfo, ranked: Ranked) -> ItemEncoder:
        """The item encoder of the version behind `ranked`: one per loaded version, kept
        while the version's catalogue index lives (a retired version's goes with it)."""
        encoder = self._encoders.get(ranked.index)
        if encoder is None:
            encoder = self._encoders.setdefault(ranked.index, ItemEncoder(info, ranked.index))
        return encoder

    def Predict(self, request, context):
        """Scores of a batch of user-item pairs."""
        # Iterating a repeated field ends by raising and catching an IndexError: it is
        # iterated once, into a list.
        instances = list(request.instances)
        chosen = [i.WhichOneof("user") for i in instances]
        features = None
        if "user_features" in chosen:
            users = [_user(i) for i in instances]
            user_ids = [u for u, _ in users]
            features = [f for _, f in users]
        elif None in chosen:
            user_ids = [i.user_id if c else None for i, c in zip(instances, chosen, strict=True)]
        else:
            user_ids = [i.user_id for i in instances]
        model = request.model
        answer = self.plane.predict(
            model.name,
            model.version,
            user_ids,
            [i.item_id for i in instances],
            features=features,
            timestamp=_timestamp(request),
        )
        prediction = answer.value
        return predict_response(
            answer.model,
            prediction.scores,
            prediction.is_rating,
            prediction.strategy,
            prediction.fallback,
        )

    def Recommend(self, request, context):
        """Top-k items for one user."""
        user_id, features = _user(request)
        model = request.model
        excluded = request.exclude_item_ids  # list() only when not empty: see Predict
        answer = self.plane.recommend(
            model.name,
            model.version,
            user_id,
            request.k,
            include_seen=request.include_seen,
            exclude_item_ids=list(excluded) if excluded else (),
            features=features,
            num_candidates=request.num_candidates,
            timestamp=_timestamp(request),
        )
        ranked = answer.value
        return self._encoder(answer.model, ranked).recommend_response(
            ranked.rows,
            ranked.scores,
            ranked.strategy,
            ranked.reason,
            ranked.candidates_from,
            ranked.list_key,
        )

    def SimilarItems(self, request, context):
        """Top-k items most similar to one item."""
        model = request.model
        answer = self.plane.similar_rows(model.name, model.version, request.item_id, request.k)
        ranked = answer.value
        return self._encoder(answer.model, ranked).similar_items_response(
            ranked.rows, ranked.scores, ranked.list_key
        )

    def Metrics(self, request, context):
        """Evaluation of a version, a baseline and most-popular on its held-out split."""
        baseline = request.baseline if request.HasField("baseline") else None
        evaluation, compared, popularity = self.plane.evaluate(
            request.model.name,
            request.model.version,
            request.k,
            baseline_name=baseline.name if baseline else None,
            baseline_version=baseline.version if baseline else None,
            threshold=(
                request.relevance_threshold if request.HasField("relevance_threshold") else None
            ),
        )
        return serving_pb2.MetricsResponse(
            model=version_pb(evaluation.model),
            metrics=evaluation_pb(evaluation),
            baseline=evaluation_pb(compared) if compared else None,
            popularity=evaluation_pb(popularity),
        )

    def GetModelStatus(self, request, context):
        """Loaded versions and the serving version of one model or all."""
        states = self.plane.status(request.model_name)
        return serving_pb2.GetModelStatusResponse(models=[status_pb(s) for s in states])

    def ListIds(self, request, context):
        """Raw ids of the users and items a version knows."""
        model = request.model
        answer = self.plane.list_ids(model.name, model.version, request.max_ids)
        ids = answer.value
        return serving_pb2.ListIdsResponse(
            model=version_pb(answer.model),
            user_ids=ids.user_ids.tolist(),
            user_rating_counts=ids.user_rating_counts.tolist(),
            item_ids=ids.item_ids.tolist(),
            num_users=ids.num_users,
            num_items=ids.num_items,
        )

    def SetServingVersion(self, request, context):
        """Pins a version, follows the newest again, or rolls back."""
        target = request.WhichOneof("target")
        if target is None:
            raise InvalidRequest("set one of version, latest or rollback")
        if target == "version" and request.version < 1:
            raise InvalidRequest(f"version must be >= 1, got {request.version}")
        if target != "version" and not getattr(request, target):
            raise InvalidRequest(f"{target} must be true when set")
        state = self.plane.set_serving_version(
            request.model_name,
            request.version if target == "version" else 0,
            rollback=target == "rollback",
            reason=request.reason,
        )
        return status_pb(state)
