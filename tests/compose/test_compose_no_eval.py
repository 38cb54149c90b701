"""A resolver the program registers is never evaluated: `${eval:...}` whose code would create the file PWNED."""

from __future__ import annotations

from pathlib import Path

import pytest
from compose_helpers import by_key, lint_app
from omegaconf import OmegaConf

from sdmspec.compose.entry import Entry
from sdmspec.compose.hydra_compose import compose_entry
from sdmspec.compose.interpolation import Resolver, Status


def test_the_eval_resolver_s_code_would_create_the_file(app: Path) -> None:
    # The premise of the tests below: with the program's resolver, resolving that value runs its code.
    composition = compose_entry(Path("conf"), Entry("train", ("experiment=evil",)))
    OmegaConf.register_new_resolver("eval", eval)
    try:
        assert composition.config.trainer.max_epochs == 20
    finally:
        OmegaConf.clear_resolver("eval")
    assert (app / "PWNED").exists()


def test_lint_reports_an_eval_value_as_known_at_run_time_and_runs_none_of_it(app: Path) -> None:
    result = lint_app(app, "experiment=evil", "data.workers=4")
    assert not (app / "PWNED").exists()
    (epochs,) = by_key(result, "trainer.max_epochs")
    assert (epochs.code, epochs.severity.value, epochs.file, epochs.line) == (
        "SDM205", "info", "conf/experiment/evil.yaml", 4,
    )  # fmt: skip
    assert "'eval'" in epochs.message
    # A value that refers to it is refused too, without resolving the reference.
    (devices,) = by_key(result, "trainer.devices")
    assert devices.code == "SDM205" and "through trainer.max_epochs" in devices.message


def test_not_even_when_the_process_has_the_resolver_registered(app: Path) -> None:
    # A program that imports sdmspec may have registered it: the check is on the resolver's name, not the registry.
    OmegaConf.register_new_resolver("eval", eval)
    try:
        result = lint_app(app, "experiment=evil", "data.workers=4")
        resolver = Resolver(compose_entry(Path("conf"), Entry("train", ("experiment=evil",))).config)
        for key in ("trainer.max_epochs", "trainer.devices"):
            assert resolver.resolve(key).status is Status.RUNTIME
    finally:
        OmegaConf.clear_resolver("eval")
    assert not (app / "PWNED").exists()
    assert {d.code for d in by_key(result, "trainer.max_epochs")} == {"SDM205"}


@pytest.mark.parametrize("text", ["${div_up:1,2}", "${hydra:runtime.output_dir}", "${now:%H}", "x${eval:1}y"])
def test_only_omegaconf_s_built_in_resolvers_are_called(text: str) -> None:
    config = OmegaConf.create({"a": text, "b": "${oc.env:HOME,none}", "c": "${oc.select:a,0}"})
    resolver = Resolver(config)
    assert resolver.resolve("a").status is Status.RUNTIME
    assert resolver.resolve("b").status is Status.VALUE
    assert resolver.resolve("c").status is Status.RUNTIME  # oc.select is a built-in, but it selects a run-time value


def test_a_key_a_built_in_selects_is_followed_like_a_reference() -> None:
    config = OmegaConf.create(
        {"code": "${eval:1}", "picked": "${oc.select:code,0}", "listed": "${oc.dict.keys:nested}", "nested": {"x": 1}}
    )
    resolver = Resolver(config)
    assert resolver.resolve("picked").status is Status.RUNTIME
    assert resolver.resolve("listed").status is Status.VALUE


def test_text_decoded_into_config_is_refused_only_when_it_is_computed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDMSPEC_TEST_DECODED", "${eval:1}")
    computed = "${oc.decode:${oc.env:SDMSPEC_TEST_DECODED}}"
    config = OmegaConf.create({"literal": "${oc.decode:'[1, 2]'}", "computed": computed})
    resolver = Resolver(config)
    assert resolver.resolve("literal").value == [1, 2]
    assert resolver.resolve("computed").status is Status.RUNTIME
