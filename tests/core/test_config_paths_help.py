import dataclasses
from pathlib import Path

import pytest

from specola.cli import main
from specola.config import describe_config, load_config, markdown_table, option, options
from specola.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class _Inputs:
    file: Path | None = option(None, help="input file")
    extra: tuple[Path, ...] = option((), help="more files")
    label: str = option("x", help="not a path")


@dataclasses.dataclass(frozen=True)
class _Fit:
    nsteps: int = option(100, minimum=1, help="steps")
    method: str = option("a", choices=("a", "b"), help="method")


@dataclasses.dataclass(frozen=True)
class _Config:
    inputs: _Inputs = dataclasses.field(default_factory=_Inputs)
    fit: _Fit = dataclasses.field(default_factory=_Fit)


def test_relative_paths_resolve_against_the_toml_folder(tmp_path, monkeypatch):
    conf = tmp_path / "runs" / "a.toml"
    conf.parent.mkdir()
    conf.write_text('[inputs]\nfile = "data/x.fits"\nextra = ["y.fits", "/abs/z.fits"]\nlabel = "data/keep"\n')
    monkeypatch.chdir(tmp_path)
    c = load_config(_Config, conf)
    assert c.inputs.file == tmp_path / "runs" / "data" / "x.fits"
    assert c.inputs.extra == (tmp_path / "runs" / "y.fits", Path("/abs/z.fits"))
    assert c.inputs.label == "data/keep"  # only Path-typed options are paths
    # an override on the command line is relative to the working directory, not to the TOML
    c = load_config(_Config, conf, {"inputs.file": "here.fits"})
    assert c.inputs.file == tmp_path / "here.fits"
    # the same config from another working directory reads the same files
    monkeypatch.chdir(tmp_path / "runs")
    assert load_config(_Config, conf).inputs.file == tmp_path / "runs" / "data" / "x.fits"


def test_describe_config_lists_every_option_with_default_help_and_rules():
    text = describe_config(_Config)
    lines = text.splitlines()
    assert [line.split(" = ")[0] for line in lines] == [o.key for o in options(_Config)]
    assert 'fit.method = "a"  # method [choices: "a", "b"]' in lines
    assert "fit.nsteps = 100  # steps [>= 1]" in lines
    assert "inputs.file = (unset)  # input file" in lines
    table = markdown_table(_Config)
    assert table.count("\n") == len(lines) + 1 and "| `fit.nsteps` | `100` | steps | >= 1 |" in table


def test_every_stage_has_help_for_every_option():
    from specola.coadd.config import CoaddConfig
    from specola.extract.config import ExtractConfig
    from specola.fluxcal.config import FluxcalConfig
    from specola.lines.config import LinesConfig
    from specola.stellar.config import StellarConfig

    for cls in (CoaddConfig, ExtractConfig, FluxcalConfig, LinesConfig, StellarConfig):
        missing = [o.key for o in options(cls) if not o.help]
        assert len(options(cls)) > 5 and missing == [], f"{cls.__name__}: options without help {missing}"


def test_unknown_option_keeps_its_typo_hint():
    with pytest.raises(ConfigError, match=r"did you mean 'fit\.nsteps'"):
        load_config(_Config, None, {"fit.nstep": 3})


def test_internal_errors_are_one_line_without_debug(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("kaput")

    monkeypatch.setattr("specola.cli.build_parser", _parser_with(broken))
    assert main(["info"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: kaput" in err and "--debug" in err


def _parser_with(func):
    from specola.cli import build_parser as original

    def build(command=None):
        parser = original(command)
        sub = next(a for a in parser._actions if a.dest == "command")
        sub.choices["info"].set_defaults(func=func)
        return parser

    return build
