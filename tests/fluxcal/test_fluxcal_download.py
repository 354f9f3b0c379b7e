import hashlib

import pytest

from specola.cli import main
from specola.errors import FileFormatError, SpecolaError
from specola.fluxcal.download import BoszFile, bosz_subgrid, download, read_checksums, verify


def test_subgrid_matches_the_peer_definition():
    files = bosz_subgrid()
    models = files[1:]
    # 13 Teff x 4 log g x (7 [M/H] + 3 alpha-enhanced for [M/H] <= -0.5)
    assert len(models) == 13 * 4 * (7 + 3)
    assert files[0].url.endswith("/r10000/bosz2024_wave_r10000.txt")
    names = [f.path.name for f in models]
    assert "bosz2024_mp_t7250_g+4.5_m-1.00_a+0.25_c+0.00_v1_r10000_resam.txt.gz" in names
    assert "bosz2024_ap_t7500_g+4.0_m+0.50_a+0.00_c+0.00_v1_r10000_resam.txt.gz" in names
    assert not any("_a+0.25_" in n and "_m+0.00_" in n for n in names)
    assert all(f.url.startswith("https://archive.stsci.edu/hlsps/bosz/bosz2024/r10000/m") for f in models)
    assert all(f.size > 1e5 for f in files)


def test_dry_run_lists_urls_and_sizes(capsys, tmp_path):
    out = tmp_path / "grid"
    assert main(["bosz", "--dry-run", "-o", str(out), "--teff", "5000", "5250", "250"]) == 0
    text = capsys.readouterr().out
    assert text.count("https://archive.stsci.edu/hlsps/bosz/bosz2024/") == 1 + 2 * 4 * 10
    assert "MB" in text and not out.exists()


def test_checksum_verification_and_existing_files(tmp_path):
    """The network is not reachable here: a local file stands in for a downloaded one."""
    target = tmp_path / "r10000" / "m+0.00" / "model.txt.gz"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"BOSZ test bytes")
    good = hashlib.sha256(b"BOSZ test bytes").hexdigest()
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"# BOSZ\n{good}  r10000/m+0.00/model.txt.gz\n")
    checks = read_checksums(sums)
    assert checks == {"model.txt.gz": good}
    verify(target, good)
    entry = BoszFile("https://invalid.example/model.txt.gz", target.relative_to(tmp_path), 10)
    assert download([entry], tmp_path, checksums=checks) == [target]  # kept, verified, not fetched
    with pytest.raises(FileFormatError, match="differs from the expected"):
        download([entry], tmp_path, checksums={"model.txt.gz": "0" * 64})
    with pytest.raises(SpecolaError, match=r"cannot download https://invalid\.example"):
        download([entry], tmp_path, force=True, timeout=2.0)
    assert not target.with_name("model.txt.gz.part").exists()
