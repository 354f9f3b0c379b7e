import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specola.config import apply_overrides, from_dict, load_config, option, parse_overrides, to_toml
from specola.errors import ConfigError, FileFormatError


@dataclass(frozen=True)
class Sampling:
    nsteps: int = option(3000, minimum=1, help="steps")
    frac_burnin: float = option(0.6, minimum=0.0, maximum=1.0)
    method: str = option("emcee", choices=("emcee", "dynesty"))
    fitspot: bool = option(True)
    wave_range: tuple[float, float] = option((0.5, 5.5))
    masks: tuple[tuple[float, float], ...] = option(())
    seed: int | None = option(None)


@dataclass(frozen=True)
class Inputs:
    path: Path = option(Path("spec.csv"))
    label: str = option("run")


@dataclass(frozen=True)
class Cfg:
    sampling: Sampling = field(default_factory=Sampling)
    inputs: Inputs = field(default_factory=Inputs)


def test_defaults_and_nested_values():
    c = from_dict(Cfg, {"sampling": {"nsteps": 10, "masks": [[1, 2], [3.5, 4]]}})
    assert c.sampling.nsteps == 10
    assert c.sampling.masks == ((1.0, 2.0), (3.5, 4.0))
    assert c.inputs.label == "run"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sampling": {"nstep": 1}}, "did you mean 'nsteps'"),
        ({"sampling": {"nsteps": "many"}}, "sampling.nsteps: expected an integer"),
        ({"sampling": {"nsteps": 0}}, r"sampling.nsteps: 0 is out of range; allowed \[1, inf\]"),
        ({"sampling": {"frac_burnin": 1.5}}, "frac_burnin"),
        ({"sampling": {"method": "mcmc"}}, "choose one of 'emcee', 'dynesty'"),
        ({"sampling": {"fitspot": "yes"}}, "expected true or false"),
        ({"sampling": {"wave_range": [1.0]}}, "list of 2 values"),
        ({"sampling": 3}, "expected a table"),
        ({"samplin": {}}, "did you mean 'sampling'"),
    ],
)
def test_bad_values_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Cfg, data)


def test_overrides_resolve_bare_and_dotted_keys():
    ov = parse_overrides(["-fitspot=0", "-sampling.nsteps=50", "-label=abc", "--method=dynesty"])
    c = from_dict(Cfg, apply_overrides(Cfg, {}, ov))
    assert (c.sampling.fitspot, c.sampling.nsteps, c.inputs.label, c.sampling.method) == (False, 50, "abc", "dynesty")
    with pytest.raises(ConfigError, match="did you mean"):
        apply_overrides(Cfg, {}, {"nstep": 3})
    with pytest.raises(ConfigError, match="-key=value"):
        parse_overrides(["nsteps"])


def test_ambiguous_bare_key_is_refused():
    @dataclass(frozen=True)
    class A:
        label: str = option("a")

    @dataclass(frozen=True)
    class Two:
        a: A = field(default_factory=A)
        b: A = field(default_factory=A)

    with pytest.raises(ConfigError, match=r"ambiguous; write one of a\.label, b\.label"):
        apply_overrides(Two, {}, {"label": "x"})


def test_load_config_reports_file_problems(tmp_path):
    with pytest.raises(FileFormatError, match="not found"):
        load_config(Cfg, tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sampling\nnsteps=")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_config(Cfg, bad)
    good = tmp_path / "good.toml"
    good.write_text("[sampling]\nnsteps = 7\n")
    assert load_config(Cfg, good, {"nsteps": 9}).sampling.nsteps == 9


@settings(max_examples=100, deadline=None)
@given(
    nsteps=st.integers(1, 10**9),
    frac=st.floats(0, 1),
    method=st.sampled_from(["emcee", "dynesty"]),
    fitspot=st.booleans(),
    label=st.text(min_size=0, max_size=20),
    masks=st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), max_size=4),
)
def test_toml_round_trip(nsteps, frac, method, fitspot, label, masks):
    c = from_dict(
        Cfg,
        {
            "sampling": {
                "nsteps": nsteps,
                "frac_burnin": frac,
                "method": method,
                "fitspot": fitspot,
                "masks": [list(m) for m in masks],
            },
            "inputs": {"label": label},
        },
    )
    assert from_dict(Cfg, tomllib.loads(to_toml(c))) == c


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.text(max_size=10)))
def test_config_parsing_never_raises_anything_but_config_error(value):
    for key in ("nsteps", "frac_burnin", "method", "fitspot", "wave_range", "seed"):
        try:
            from_dict(Cfg, {"sampling": {key: value}})
        except ConfigError:
            pass
