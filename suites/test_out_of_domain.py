"""Out-of-domain generalization: a model trained on a task is scored on the tasks its spec names in
`ood_eval` (the SST-2 sentiment model on IMDB reviews)."""

import pytest

from harness.results import checks

pytestmark = pytest.mark.ood


@pytest.mark.harness_jobs(ood=True)
def test_out_of_domain_beats_majority_class(single_task_run, harness):
    record = single_task_run.record
    assert record.ood, "the task declares ood_eval but the run scored no out-of-domain split"
    for target, result in record.ood.items():
        checks.require_claim(harness.profile, f"ood/{target}", record.approach)
        checks.beats_majority(result, record.majority_class, f"{record.task} → {target} {record.approach}")
