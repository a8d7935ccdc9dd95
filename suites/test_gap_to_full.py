"""The gap to full fine-tuning (suites/gap-to-full.yaml, harness.kinds.gap_to_full): where the profile bounds it, an
approach's mean accuracy over the seeds stays within that gap of full fine-tuning's, on the same seeds."""

import statistics


def test_close_to_full_fine_tuning(gap_job, harness):
    check = gap_job
    approach, full = ([harness.require(job).accuracy for job in jobs] for jobs in (check.jobs, check.reference_jobs))
    gap = statistics.fmean(full) - statistics.fmean(approach)
    assert gap <= check.allowed, (
        f"{check.approach} {statistics.fmean(approach):.3f} vs {check.reference} {statistics.fmean(full):.3f} over "
        f"seeds {[job.seed for job in check.jobs]}: gap {100 * gap:.1f} points, above {100 * check.allowed:.1f}"
    )
