"""Command line: validate and list the YAML specs, and rewrite a leaderboard from the results store.

    python -m harness tasks validate [FILE ...]
    python -m harness approaches list
    python -m harness leaderboard --profile quick --data-dir ../shared/data             # .harness/leaderboard-quick.md
    python -m harness leaderboard --profile quick --data-dir ../shared/data --publish   # leaderboard.md
    python -m harness plan --profile tiny -k lora     # what `pytest suites/ -k lora` would train
    python -m harness sweep --task sst2 --approach lora --values 2e-4,5e-4,1e-3   # chosen on the dev slice

Training runs through pytest (`pytest suites/`), where trained models are fixtures.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from harness import options
from harness.data import mirror_from
from harness.declarations import Declarations
from harness.engine.runner import run
from harness.errors import HarnessError
from harness.jobs import Job, sweep
from harness.kinds import references
from harness.models import resolve_model
from harness.report import board, frame, publish
from harness.results import RECORD_FILE, ResultStore
from harness.specs import (
    APPROACHES_DIR,
    PROFILES_DIR,
    SUITES_DIR,
    TASKS_DIR,
    display_path,
    spec_files,
)
from harness.specs.catalog import (
    check_profile,
    load_approaches,
    load_profile,
    load_suites,
    load_tasks,
    narrow_suites,
)

KINDS = {"tasks": TASKS_DIR, "approaches": APPROACHES_DIR, "profiles": PROFILES_DIR, "suites": SUITES_DIR}


def validate(kind: str, files: list[str]) -> int:
    paths = [Path(f) for f in files] or spec_files(KINDS[kind])
    if kind == "profiles":
        errors, tasks, approaches = {}, load_tasks().specs, load_approaches().specs
        suites = load_suites(tasks, approaches).specs
        for path in paths:
            try:
                profile = load_profile(str(path))
                check_profile(profile, tasks, approaches)
                narrow_suites(profile, suites)
            except HarnessError as exc:
                errors[display_path(path)] = str(exc)
    else:
        # Files are checked together with their directory so cross-file references (ood_eval) resolve.
        loaders = {
            "tasks": load_tasks,
            "approaches": load_approaches,
            "suites": lambda d: load_suites(load_tasks().specs, load_approaches().specs, d),
        }
        catalogs = {d: loaders[kind](d) for d in {p.resolve().parent for p in paths}}
        errors = {}
        for path in paths:
            catalog = catalogs[path.resolve().parent]
            source = display_path(path)
            if not path.exists():
                errors[source] = f"{source}: file not found"
            elif source in catalog.errors:
                errors[source] = catalog.errors[source]
    for path in paths:
        source = display_path(path)
        print(errors[source] if source in errors else f"ok: {source}")
    return 1 if errors else 0


def list_specs(kind: str) -> int:
    if kind == "profiles":
        for path in spec_files(PROFILES_DIR):
            print(f"{path.stem}: {load_profile(path.stem).description}")
        return 0
    catalog = {
        "tasks": load_tasks,
        "approaches": load_approaches,
        "suites": lambda: load_suites(load_tasks().specs, load_approaches().specs),
    }[kind]()
    for name, spec in catalog.specs.items():
        print(f"{name}: {spec.description}")
    for message in catalog.errors.values():
        print(f"invalid: {message}")
    return 1 if catalog.errors else 0


def write_leaderboard(args: argparse.Namespace) -> int:
    """The store's board for a profile: the run's own (beside the store, or --output), or with --publish the
    committed one, which refuses to drop runs it shows (harness.report.publish)."""

    profile = options.profile_as_run(load_profile(args.profile), args.precision)
    model, source = resolve_model(args.model or profile.model), mirror_from(args.data_dir)
    scope = frame.Scope(profile.name, profile.description, model.name, source.describe())
    store = ResultStore(Path(args.results_dir))
    declared = Declarations(
        profile=profile,
        model=model,
        seeds=None,
        source=source,
        tasks=load_tasks().specs,
        approaches=load_approaches().specs,
    ).identities()
    if args.publish:
        output, shown = publish.publish(
            profile, store.records(), scope, store.root, declared, allow_fewer=args.allow_fewer
        )
    else:
        output = Path(args.output) if args.output else publish.local_board(store.root, profile)
        shown = board.write(output, store.records(), scope, store.root, declared)
    for line in store.set_aside:
        print(line, file=sys.stderr)
    print(
        f"leaderboard with {shown} runs written to {display_path(output)}"
        + (
            ""
            if shown
            else f" (the store {store.root} has no runs of profile {profile.name}, model {model.name}, "
            f"{source.describe()})"
        )
    )
    return 0


def check_store(args: argparse.Namespace) -> int:
    """Lists the store's damaged records (the next run sets each aside and trains its job again), the records set
    aside before, and the staging directories of runs that never finished; changes nothing."""
    store = ResultStore(Path(args.results_dir))
    problems = store.problems()
    for path, problem in problems:
        print(f"damaged: {path}: {problem}")
    leftovers = store.leftovers()
    for kind, paths in leftovers.items():
        for path in paths:
            print(f"{kind}: {path}")
    intact = sum(1 for _ in (store.root / "runs").glob(f"*/{RECORD_FILE}")) - len(problems)
    print(
        f"{store.root}: {intact} intact records, {len(problems)} damaged, {len(leftovers['set aside'])} set aside "
        f"(kept), {len(leftovers['unfinished'])} unfinished runs (staging; their earlier records are intact)"
        + ("; a run sets the damaged aside and trains their jobs again" if problems else "")
    )
    return 1 if problems else 0


def pin_reference(args: argparse.Namespace) -> int:

    profile = load_profile(args.profile)
    model = resolve_model(args.model).name
    scope = frame.Scope(profile.name, profile.description, model, mirror_from(args.data_dir).describe())
    records = frame.select(ResultStore(Path(args.results_dir)).records(), scope)
    path = SUITES_DIR / f"{args.suite}.yaml"
    tasks, approaches = load_tasks().specs, load_approaches().specs
    approach = references.load_reference_suite(path, tasks, approaches).approach
    finished = max((r.finished_at for r in records), default="")[:10]
    reference = references.pin(
        path,
        records,
        model,
        approach,
        f"this harness's {profile.name}-profile run finished {finished}",
        tasks,
        approaches,
        if_missing=args.if_missing,
    )
    if reference is None:
        print(f"{model} already has a reference in {display_path(path)} for every task of this run; left as it is")
        return 0
    accuracies = ", ".join(f"{task} {100 * value:.1f}" for task, value in reference.accuracy.items())
    print(f"pinned {model} in {display_path(path)}: {accuracies}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:

    profile = options.profile_as_run(load_profile(args.profile), args.precision)
    tasks, approaches = load_tasks().specs, load_approaches().specs
    for name, known, field in ((args.task, tasks, "--task"), (args.approach, approaches, "--approach")):
        if name not in known:
            raise HarnessError(f"{field}: unknown or invalid '{name}' (known: {', '.join(sorted(known))})")
    task = tasks[args.task]
    base = Job(
        task=task,
        ood_tasks=(),
        approach=approaches[args.approach],
        model=resolve_model(args.model or profile.model),
        profile=profile,
        seed=0,
        source=mirror_from(args.data_dir),
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [
        sweep.sweep_job(replace(base, seed=seed), args.parameter, value)
        for value in args.values.split(",")
        for seed in seeds
    ]
    records = run(jobs, ResultStore(Path(args.results_dir)))
    summary = sweep.summarise(jobs, records)
    for value, accuracy in summary["dev_accuracy"].items():
        print(f"{args.parameter}={value}: dev accuracy {100 * accuracy:.1f}")
    failed = [r.failure for r in records if not r.ok]
    noise = ", ".join(summary["within_noise_of_chosen"]) or "none"
    print(
        f"chosen: {args.parameter}={summary['chosen']} (within noise of it on the dev slice: {noise}); written to "
        f"{sweep.write(summary)}"
        if summary["chosen"]
        else "no run succeeded"
    )
    for reason in failed:
        print(f"failed: {reason}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="kind", required=True)
    for kind in KINDS:
        sub = commands.add_parser(kind, help=f"validate or list {kind}/*.yaml")
        actions = sub.add_subparsers(dest="action", required=True)
        actions.add_parser("validate", help="check files against the schema").add_argument("files", nargs="*")
        actions.add_parser("list", help="names and descriptions")
    board_command = commands.add_parser("leaderboard", help="rewrite a leaderboard from the results store")
    options.add(board_command.add_argument, "--profile", "--model", "--data-dir", "--results-dir", "--precision")
    board_command.add_argument("--output", default=None, help="default: <results-dir>/leaderboard-<profile>.md")
    board_command.add_argument(
        "--publish",
        action="store_true",
        help="write the profile's committed board (its `leaderboard` "
        "field); refused while the store lacks runs it shows",
    )
    board_command.add_argument(
        "--allow-fewer", action="store_true", help="with --publish: drop the published runs this store lacks"
    )
    sweeper = commands.add_parser(
        "sweep", help="train one setting per value and choose it on the dev slice (harness.jobs.sweep)"
    )
    options.add(sweeper.add_argument, "--profile", "--model", "--data-dir", "--results-dir", "--precision")
    sweeper.add_argument("--task", required=True)
    sweeper.add_argument("--approach", required=True)
    sweeper.add_argument(
        "--parameter", choices=("learning_rate", "head_learning_rate", "pooling"), default="learning_rate"
    )
    sweeper.add_argument("--values", required=True, help="comma-separated (pooling: mean, first-token)")
    sweeper.add_argument("--seeds", default="0", help="comma-separated")
    pinner = commands.add_parser(
        "pin-reference", help="pin a model's published-number gate to this store's runs (harness.kinds.references)"
    )
    options.add(
        pinner.add_argument,
        "--model",
        "--profile",
        "--data-dir",
        "--results-dir",
        model={"required": True},
        profile={"default": "full"},
    )
    pinner.add_argument("--suite", default="published", help="a suite of kind 'reference' in suites/")
    pinner.add_argument(
        "--if-missing", action="store_true", help="pin only the tasks the model has no reference for yet"
    )
    checker = commands.add_parser("check-store", help="list the results store's damaged records")
    options.add(checker.add_argument, "--results-dir")
    commands.add_parser(
        "plan", help="print the jobs `pytest suites/ ARGS` would train, reuse or skip (takes pytest's options)"
    )
    args, pytest_args = parser.parse_known_args(argv)
    if args.kind == "plan":
        import pytest

        return pytest.main([str(SUITES_DIR), "--plan", "-p", "no:xdist", *pytest_args])
    if pytest_args:
        parser.error(f"unrecognized arguments: {' '.join(pytest_args)}")
    try:
        if args.kind == "leaderboard":
            return write_leaderboard(args)
        if args.kind == "sweep":
            return run_sweep(args)
        if args.kind == "pin-reference":
            return pin_reference(args)
        if args.kind == "check-store":
            return check_store(args)
        return validate(args.kind, args.files) if args.action == "validate" else list_specs(args.kind)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
