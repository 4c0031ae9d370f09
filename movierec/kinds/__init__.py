"""The registry of model kinds: each kind is a numpy half (serving) and a Keras half
(training), named here once. Everything else asks this registry what a kind can do.

Adding a kind: write `movierec/kinds/<kind>.py` (PARAMS, WEIGHT_ARRAYS, and load_scorer
returning a movierec.kinds.base.Scorer) and `movierec/training/kinds/<kind>.py`
(build_rating_model, build_retrieval_model, export_weights, and optionally rating_features
for model inputs beyond user and item, such as the time of a rating), add its line to KINDS
(with the objectives it trains) and its hyperparameter message to the TrainRequest oneof of
protos/movierec/v1/trainer.proto.
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
from types import ModuleType
from typing import Any

from movierec.errors import CorruptVersion, InvalidRequest
from movierec.kinds.base import OBJECTIVES, RATING, RETRIEVAL, KindParams


@dataclasses.dataclass(frozen=True)
class Kind:
    """One model kind: where its two halves live.

    Attributes:
        name: The kind's name in requests and manifests.
        serving_module: Numpy half (no TensorFlow, no pandas).
        training_module: Keras half (trainer job processes only).
        objectives: The objectives it trains, the default first.
        closed_form: Whether its training half fits in closed form (a `fit` function, one
            process, no Keras model) rather than building Keras models.
    """

    name: str
    serving_module: str
    training_module: str
    objectives: tuple[str, ...] = OBJECTIVES
    closed_form: bool = False

    def serving(self) -> ModuleType:
        """The numpy half, imported on first use."""
        return importlib.import_module(self.serving_module)

    def training(self) -> ModuleType:
        """The Keras half (imports TensorFlow)."""
        return importlib.import_module(self.training_module)

    @property
    def params_class(self) -> type[KindParams]:
        """The kind's hyperparameter dataclass."""
        return self.serving().PARAMS


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("ease", "movierec.kinds.ease", "movierec.training.kinds.ease", (RETRIEVAL,), True),
        Kind("dot", "movierec.kinds.dot", "movierec.training.kinds.dot"),
        Kind("two_tower", "movierec.kinds.two_tower", "movierec.training.kinds.two_tower"),
        Kind("ranking", "movierec.kinds.ranking", "movierec.training.kinds.ranking", (RATING,)),
        Kind(
            "ranking_context",
            "movierec.kinds.ranking_context",
            "movierec.training.kinds.ranking_context",
            (RATING,),
        ),
    )
}
DEFAULT_KIND = "ease"
"""The kind a request that names none trains; one asking for the rating objective alone
trains RATING_KIND, as ease ranks but does not predict ratings."""
RATING_KIND = "dot"


def get_kind(name: str) -> Kind:
    """The registered kind called `name`.

    Raises:
        InvalidRequest: no such kind (the message lists the known ones).
    """
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise InvalidRequest(f"unknown model kind {name!r}; known kinds: {known}") from None


def check_kind(manifest: dict[str, Any], folder: pathlib.Path) -> None:
    """Raises CorruptVersion unless the manifest names a registered kind and objective."""
    kind = manifest.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise CorruptVersion(f"{folder}: serving cannot load kind {kind!r} (known: {known})")
    if manifest.get("objective") not in OBJECTIVES:
        raise CorruptVersion(f"{folder}: unknown objective {manifest.get('objective')!r}")
