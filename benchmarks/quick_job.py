"""The single-task job a benchmark times, built as a session declares it (harness.declarations), from the common
benchmark arguments (--data-dir, --profile, --task, --approach)."""

from __future__ import annotations


def single_task_job(args, seed: int = 0, precision: str | None = None, approach: str | None = None):
    from harness.data import mirror_from
    from harness.declarations import Declarations
    from harness.models import resolve_model
    from harness.options import profile_as_run
    from harness.specs.catalog import load_approaches, load_profile, load_tasks

    profile = profile_as_run(load_profile(args.profile), precision)
    session = Declarations(
        profile=profile,
        model=resolve_model(profile.model),
        seeds=None,
        source=mirror_from(args.data_dir),
        tasks=load_tasks().specs,
        approaches=load_approaches().specs,
    )
    return session.single_task_job(args.task, approach or args.approach, seed)
