"""ServingService servicer: protobuf in, data plane call, protobuf out."""

from __future__ import annotations

from movierec.dataplane import Evaluation, ServingDataPlane, UserFeatures, VersionInfo
from movierec.registry import ModelState
from movierec.scoring import ScoredItem
from movierec.v1 import common_pb2, serving_pb2, serving_pb2_grpc

_VERSION_STATE = {
    "AVAILABLE": serving_pb2.VersionStatus.AVAILABLE,
    "FAILED": serving_pb2.VersionStatus.FAILED,
    "UNLOADED": serving_pb2.VersionStatus.UNLOADED,
}


def version_pb(info: VersionInfo) -> common_pb2.ModelVersion:
    """ModelVersion message of a VersionInfo."""
    return common_pb2.ModelVersion(name=info.name, version=info.version, kind=info.kind)


def items_pb(items: list[ScoredItem]) -> list[common_pb2.ScoredItem]:
    """ScoredItem messages of library ScoredItems."""
    return [
        common_pb2.ScoredItem(
            item_id=i.item_id, title=i.title, genres=i.genres, score=i.score, year=i.year
        )
        for i in items
    ]


def evaluation_pb(evaluation: Evaluation) -> common_pb2.EvaluationMetrics:
    """EvaluationMetrics message of an Evaluation."""
    return common_pb2.EvaluationMetrics(
        model=version_pb(evaluation.model),
        split=evaluation.split,
        num_ratings=evaluation.num_ratings,
        values=evaluation.values,
    )


def status_pb(state: ModelState) -> serving_pb2.ModelStatus:
    """ModelStatus message of a ModelState."""
    return serving_pb2.ModelStatus(
        name=state.name,
        serving_version=state.serving_version,
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


def _features(message) -> UserFeatures | None:
    if message.WhichOneof("user") != "user_features":
        return None
    return UserFeatures(dict(message.user_features.genre_ratings))


class ServingServicer(serving_pb2_grpc.ServingServiceServicer):
    """Translates ServingService calls to a ServingDataPlane; errors are mapped to status
    codes by service_common.interceptors.ErrorMappingInterceptor.
    """

    def __init__(self, plane: ServingDataPlane):
        self.plane = plane

    def Predict(self, request, context):
        """Predicted ratings for a batch of user-item pairs."""
        instances = request.instances
        answer = self.plane.predict(
            request.model.name,
            request.model.version,
            [i.user_id for i in instances],
            [i.item_id for i in instances],
            has_features=any(i.WhichOneof("user") == "user_features" for i in instances),
        )
        return serving_pb2.PredictResponse(
            model=version_pb(answer.model), ratings=answer.value.tolist()
        )

    def Recommend(self, request, context):
        """Top-k items for one user."""
        answer = self.plane.recommend(
            request.model.name,
            request.model.version,
            request.user_id if request.WhichOneof("user") == "user_id" else None,
            request.k,
            include_seen=request.include_seen,
            exclude_item_ids=list(request.exclude_item_ids),
            features=_features(request),
        )
        return serving_pb2.RecommendResponse(
            model=version_pb(answer.model), items=items_pb(answer.value)
        )

    def SimilarItems(self, request, context):
        """Top-k items most similar to one item."""
        answer = self.plane.similar_items(
            request.model.name, request.model.version, request.item_id, request.k
        )
        return serving_pb2.SimilarItemsResponse(
            model=version_pb(answer.model), items=items_pb(answer.value)
        )

    def Metrics(self, request, context):
        """Evaluation of a version (and optionally a baseline) on its held-out split."""
        baseline = request.baseline if request.HasField("baseline") else None
        evaluation, compared = self.plane.evaluate(
            request.model.name,
            request.model.version,
            request.k,
            baseline_name=baseline.name if baseline else None,
            baseline_version=baseline.version if baseline else None,
        )
        return serving_pb2.MetricsResponse(
            model=version_pb(evaluation.model),
            metrics=evaluation_pb(evaluation),
            baseline=evaluation_pb(compared) if compared else None,
        )

    def GetModelStatus(self, request, context):
        """Loaded versions and the serving version of one model or all."""
        states = self.plane.status(request.model_name)
        return serving_pb2.GetModelStatusResponse(models=[status_pb(s) for s in states])
