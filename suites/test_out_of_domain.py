"""Out-of-domain generalization: a model trained on a task is scored on the tasks its spec names in
`ood_eval` (the SST-2 sentiment model on IMDB reviews)."""

import pytest

pytestmark = pytest.mark.ood


@pytest.mark.harness_cases(ood=True)
def test_out_of_domain_beats_majority_class(trained_run, harness):
    assert trained_run.record["ood"], "the task declares ood_eval but the run scored no out-of-domain split"
    for target, result in trained_run.record["ood"].items():
        accuracy, majority = result["metrics"]["accuracy"], result["majority_rate"]
        required = majority + harness.profile.gain_required(target)
        assert accuracy >= required, (
            f"{target}: out-of-domain accuracy {accuracy:.3f} < majority-class rate {majority:.3f} "
            f"+ {harness.profile.gain_required(target)} required by profile '{harness.profile.name}'"
        )
