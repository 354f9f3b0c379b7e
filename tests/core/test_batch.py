import concurrent.futures

import distributed
import pytest

from specola.batch import run_batch
from specola.errors import SpectrumError


def square_or_fail(x):
    if x == 3:
        raise SpectrumError("input 3 is bad")
    if x == 4:
        raise KeyError("oops")
    return x * x


def test_sequential_batch_records_errors_and_keeps_going():
    report = run_batch(square_or_fail, [1, 2, 3, 4, 5], progress=False)
    assert [o.ok for o in report.outcomes] == [True, True, False, False, True]
    assert report.outcomes[4].result == 25
    assert report.outcomes[2].error == "input 3 is bad"
    assert "KeyError" in report.outcomes[3].error
    assert report.n_failed == 2
    assert list(report.table()["status"]) == ["finished", "finished", "failed", "failed", "finished"]


def test_thread_executor_keeps_input_order():
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        report = run_batch(square_or_fail, list(range(10)), executor=pool, progress=False)
    assert [o.item for o in report.outcomes] == list(range(10))
    assert report.outcomes[9].result == 81


@pytest.mark.slow
def test_dask_distributed_client():
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as client:
        report = run_batch(square_or_fail, [1, 3, 5], executor=client, progress=False)
    assert [o.result for o in report.outcomes] == [1, None, 25]
    assert report.n_failed == 1
