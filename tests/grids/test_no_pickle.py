"""BT-Settl pandas HDF5 tables are read without unpickling: a crafted file cannot run code."""

import os
import pickle
import warnings

import numpy as np
import pytest

from specola.cli import main
from specola.errors import FileFormatError
from specola.grids import identify_grid, load_grid
from specola.grids._pandas_hdf import UnsafePickle, decode

pd = pytest.importorskip("pandas")
pytest.importorskip("tables")


class _Payload:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _write(folder, flux_column, teff=(2500.0, 2600.0)):
    wave = np.linspace(1.0, 2.0, 5)
    (folder / "wave_TEST.csv").write_text("wave\n" + "\n".join(f"{w:.3f}" for w in wave) + "\n")
    frame = pd.DataFrame(
        {"model": ["btsettl08"] * len(teff), "teff": teff, "logg": [5.0] * len(teff), "flux": flux_column}
    )
    path = folder / "models_btsettl08_TEST.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTables' performance warning on object columns
        frame.to_hdf(path, key="models", format="fixed")
    return path


def test_crafted_object_column_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = _write(tmp_path, [_Payload(marker), _Payload(marker)])
    assert not marker.exists()
    assert identify_grid(path) == ["btsettl"]
    with pytest.raises(FileFormatError, match=r"models_btsettl08_TEST\.h5: refusing the pickled object column.*posix"):
        load_grid(path)
    assert main(["grid", "info", str(path)]) != 0
    assert not marker.exists()
    # the same bytes through pickle do run it, so the test would catch a reader that unpickles
    with pytest.raises(UnsafePickle):
        decode(pickle.dumps(_Payload(marker)))
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


def test_pandas_written_table_reads_back_exactly(tmp_path):
    rng = np.random.default_rng(3)
    fluxes = [rng.uniform(1, 2, 5), rng.uniform(1, 2, 5)]
    grid = load_grid(_write(tmp_path, fluxes))
    assert grid.axes["Teff"].tolist() == [2500.0, 2600.0]
    np.testing.assert_array_equal(grid.flux.reshape(2, 5), np.array(fluxes).astype(grid.flux.dtype))


def test_flux_that_is_not_an_array_is_refused(tmp_path):
    with pytest.raises(FileFormatError, match=r"TEST\.h5\[row 0.*flux is str"):
        load_grid(_write(tmp_path, ["a", "b"]))


@pytest.mark.parametrize(
    "value",
    [
        np.arange(6.0).reshape(2, 3),
        np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
        np.array([["a", np.ones(3)], ["b", np.zeros(3)]], dtype=object),
        {"k": [1, 2.5, None, True, "s", b"b"], "t": (1,)},
    ],
)
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_decoder_rebuilds_plain_data(value, protocol):
    out = decode(pickle.dumps(value, protocol=protocol))
    if isinstance(value, dict):
        assert out == value
    elif value.dtype == object:
        assert out.shape == value.shape and out[0, 0] == "a" and np.array_equal(out[1, 1], np.zeros(3))
    else:
        np.testing.assert_array_equal(out, value)
        assert out.dtype == value.dtype


@pytest.mark.parametrize("payload", [eval, exec, os.system, np.load, pickle.loads])
def test_decoder_refuses_every_other_global(payload):
    with pytest.raises(UnsafePickle, match="names"):
        decode(pickle.dumps(payload))


def test_decoder_refuses_garbage():
    with pytest.raises(UnsafePickle):
        decode(b"\x80\x05\x95garbage")


def test_reading_btsettl_needs_neither_pandas_nor_pytables(data_dir):
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).parents[2] / "src")  # this checkout's code, not an installed copy
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    path = data_dir / "btsettl08" / "models_btsettl08_JWST-NIRSPEC-PRISM.h5"
    code = (
        "import sys; from specola.grids import load_grid; load_grid(sys.argv[1]); "
        "print(sorted(m for m in ('pandas', 'tables', 'numexpr') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "[]"


def test_grid_info_prints_no_third_party_log_lines(data_dir, capsys):
    path = data_dir / "btsettl08" / "models_btsettl08_JWST-NIRSPEC-PRISM.h5"
    assert main(["grid", "info", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "Teff: 500 .. 3000" in out
    assert all(line.startswith(path.name) for line in err.splitlines()), err
