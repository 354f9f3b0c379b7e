import pytest

from specola.extract import ExtractConfig
from specola.extract.config import BackgroundSection, DetectorSection

SHAPE = (70, 160)
CENTRE = 34.3


def raw_config(**sections):
    """Config for raw synthetic frames (bias 1000 ADU, gain 2 e-/ADU, read noise 5 e-)."""
    base = dict(
        detector=DetectorSection(bias="constant", bias_level=1000.0, gain=2.0, read_noise=5.0),
        background=BackgroundSection(inner=12, outer=28),
    )
    base.update(sections)
    return ExtractConfig(**base)


@pytest.fixture
def config():
    return raw_config()
