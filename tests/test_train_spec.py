import pytest

from movierec.errors import InvalidRequest
from movierec.train_spec import Hyperparameters, TrainSpec, build_train_spec


def test_defaults_fill_in():
    spec = build_train_spec("m")
    assert (spec.kind, spec.dataset, spec.split, spec.seed) == ("dot", "ml-100k", "u1", 42)
    assert spec.hyperparameters == Hyperparameters()
    assert TrainSpec.from_dict(spec.to_dict()) == spec


def test_random_split_takes_its_test_fraction():
    spec = build_train_spec("m", split="random", test_fraction=0.1, seed=3)
    assert (spec.split, spec.test_fraction, spec.seed) == ("random", 0.1, 3)


def test_overrides_apply_and_none_is_ignored():
    spec = build_train_spec("m", hyperparameters={"epochs": 3, "l2": None})
    assert spec.hyperparameters.epochs == 3
    assert spec.hyperparameters.l2 == Hyperparameters().l2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"model_name": "bad name"}, "bad model name"),
        ({"kind": "svd"}, "unknown model kind 'svd'"),
        ({"dataset": "ml-7k"}, "unknown dataset 'ml-7k'"),
        ({"split": "u9"}, "unknown split 'u9'"),
        ({"test_fraction": 1.5}, "test_fraction"),
        ({"hyperparameters": {"epochs": -1}}, "epochs must be 1 to 1000, got -1"),
        ({"hyperparameters": {"learning_rate": -0.1}}, "learning_rate must be > 0"),
        ({"hyperparameters": {"learning_rate": 0.0}}, "learning_rate must be > 0"),
        ({"hyperparameters": {"embedding_dim": 0}}, "embedding_dim"),
        ({"hyperparameters": {"output": "relu"}}, "output must be one of"),
        ({"hyperparameters": {"validation_fraction": 0.9}}, "validation_fraction"),
        ({"hyperparameters": {"dropout": 0.1}}, "unknown hyperparameters: dropout"),
        ({"seed": -1}, "seed must be 0 to 4294967295, got -1"),
        ({"split": "u2", "test_fraction": 0.1}, "test_fraction applies to split 'random' only"),
        ({"seed": 2**32}, "seed must be 0 to"),
        ({"hyperparameters": {"learning_rate": float("nan")}}, "learning_rate"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(arguments, message):
    arguments = {"model_name": "m", **arguments}
    with pytest.raises(InvalidRequest, match=message):
        build_train_spec(**arguments)
