import pytest

from trainer import config as configs


def test_defaults_come_from_the_schema():
    resolved = configs.resolve({"method": {"rank": 4}})
    method_defaults = {k: p["default"] for k, p in configs.schema()["properties"]["method"]["properties"].items()}
    assert resolved["method"] == {**method_defaults, "rank": 4}
    assert resolved["training"]["max_steps"] == configs.schema()["properties"]["training"]["properties"]["max_steps"]["default"]


@pytest.mark.parametrize(
    "config, field",
    [({"method": {"rank": 0}}, "method.rank"), ({"optimizer": {"name": "sgd"}}, "optimizer.name"), ({"bogus": 1}, "bogus")],
)
def test_errors_name_the_field(config, field):
    with pytest.raises(configs.ConfigError, match=field):
        configs.resolve(config)


def test_config_is_read_only():
    cfg = configs.load({})
    with pytest.raises(AttributeError):
        cfg.optimizer.lr = 1
