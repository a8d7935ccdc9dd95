"""Discovers the YAML-declared tasks, approaches and profiles and checks them across files.

A broken file does not stop the others: loaders return the valid specs and, per file, its errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import ValidationError

from harness.approaches import validate_method_params
from harness.errors import SpecError
from harness.kinds import kinds
from harness.specs import (
    APPROACHES_DIR,
    PROFILES_DIR,
    SPEC_SUFFIXES,
    SUITES_DIR,
    TASKS_DIR,
    ApproachSpec,
    ProfileSpec,
    TaskSpec,
    display_path,
    load_spec,
    read_yaml,
    spec_files,
)

SpecT = TypeVar("SpecT")


@dataclass
class Catalog(Generic[SpecT]):
    specs: dict[str, SpecT] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # display path -> message
    sources: dict[str, str] = field(default_factory=dict)  # name -> display path of its file


def _load_directory(directory: Path, spec_type, check) -> Catalog:
    catalog: Catalog = Catalog()
    for path in spec_files(directory):
        source = display_path(path)
        try:
            spec = load_spec(spec_type, path)
            if spec.name != path.stem:
                raise SpecError(f"{source}: field 'name': '{spec.name}' differs from the file name '{path.stem}'")
            if spec.name in catalog.specs:
                raise SpecError(
                    f"{source}: field 'name': '{spec.name}' is declared by {catalog.sources[spec.name]} already"
                )
            check(spec, source)
        except SpecError as exc:
            catalog.errors[source] = str(exc)
            continue
        catalog.specs[spec.name] = spec
        catalog.sources[spec.name] = source
    return catalog


def load_tasks(directory: Path = TASKS_DIR) -> Catalog[TaskSpec]:
    catalog = _load_directory(directory, TaskSpec, lambda spec, source: None)
    for name, task in list(catalog.specs.items()):
        source = catalog.sources[name]
        for target in task.ood_eval:
            other = catalog.specs.get(target)
            if other is None:
                message = f"{source}: field 'ood_eval': unknown task '{target}'"
            elif other.label_names != task.label_names:
                message = (
                    f"{source}: field 'ood_eval': '{target}' has labels {other.label_names}, "
                    f"this task {task.label_names}; out-of-domain evaluation needs the same labels"
                )
            else:
                continue
            catalog.errors[source] = message
            del catalog.specs[name]
            break
    return catalog


def load_approaches(directory: Path = APPROACHES_DIR) -> Catalog[ApproachSpec]:
    return _load_directory(directory, ApproachSpec, validate_method_params)


def load_profile(name_or_path: str, directory: Path = PROFILES_DIR) -> ProfileSpec:
    path = Path(name_or_path)
    if path.suffix not in SPEC_SUFFIXES:
        candidates = [p for p in spec_files(directory) if p.stem == name_or_path]
        if not candidates:
            known = ", ".join(sorted(p.stem for p in spec_files(directory)))
            raise SpecError(f"unknown profile '{name_or_path}': choose one of {known} ({display_path(directory)}/)")
        if len(candidates) > 1:
            raise SpecError(
                f"profile '{name_or_path}': both {' and '.join(display_path(p) for p in candidates)} exist; keep one"
            )
        path = candidates[0]
    profile = load_spec(ProfileSpec, path)
    profile._source = display_path(path)
    return profile


def check_profile(profile: ProfileSpec, tasks: dict, approaches: dict) -> None:
    """Every task and approach a profile names (in `learns`, `task_overrides`, `max_gap_to_full`, ...) is a valid one
    of tasks/ and approaches/: every problem at once, each with the profile's file and field."""
    problems = [
        f"{profile.source}: field '{field_name}': unknown or invalid {what} {', '.join(sorted(unknown))}"
        for what, named, known in (
            ("task", profile.named_tasks(), tasks),
            ("approach", profile.named_approaches(), approaches),
        )
        for field_name, names in named.items()
        if (unknown := names - set(known))
    ]
    if problems:
        raise SpecError("\n".join(problems))


def narrow_suites(profile: ProfileSpec, suites: dict) -> dict:
    """The suites as `profile` runs them: the lists (or mappings) its `suites` field names cut to the entries
    it keeps, each of which must be one of the suite YAML's own (so a cut never adds work or changes a job)."""
    where = f"profiles/{profile.name}.yaml: field 'suites"
    unknown = sorted(set(profile.suites) - set(suites))
    if unknown:
        raise SpecError(f"{where}': unknown or invalid suite {', '.join(unknown)} (known: {', '.join(sorted(suites))})")
    return suites | {
        name: _narrow_suite(suites[name], cuts, f"{where}.{name}") for name, cuts in profile.suites.items()
    }


def _narrow_suite(suite, cuts: dict, where: str):
    try:
        narrowed = type(suite).model_validate(suite.model_dump() | cuts)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise SpecError(f"{where}.{'.'.join(map(str, error['loc']))}': {error['msg']}") from None
    for field_name in cuts:
        original, kept = getattr(suite, field_name), getattr(narrowed, field_name)
        if not isinstance(original, (list, dict)):
            raise SpecError(f"{where}.{field_name}': only a list or a mapping of the suite can be cut")
        added = (
            [item for item in kept if item not in original]
            if isinstance(original, list)
            else [k for k in kept if original.get(k) != kept[k]]
        )
        if added:
            raise SpecError(f"{where}.{field_name}': {added[0]!r} is not one of the suite's own entries")
    return narrowed


def load_suites(tasks: dict, approaches: dict, directory: Path = SUITES_DIR) -> Catalog:
    """Suite YAMLs by name; each names its `kind` (harness.kinds), which picks its schema."""

    loaders = {name: kind.load for name, kind in kinds().items()}
    catalog: Catalog = Catalog()
    for path in spec_files(directory):
        source = display_path(path)
        try:
            kind = read_yaml(path).get("kind")
            if kind not in loaders:
                raise SpecError(f"{source}: field 'kind': expected one of {', '.join(loaders)}, got {kind!r}")
            suite = loaders[kind](path, tasks, approaches)
        except SpecError as exc:
            catalog.errors[source] = str(exc)
            continue
        catalog.specs[suite.name] = suite
    return catalog


def load_all_errors() -> dict[str, str]:
    tasks, approaches = load_tasks(), load_approaches()
    errors = dict(tasks.errors)
    errors.update(approaches.errors)
    suites = load_suites(tasks.specs, approaches.specs)
    errors.update(suites.errors)
    for path in spec_files(PROFILES_DIR):
        try:
            profile = load_profile(str(path))
            check_profile(profile, tasks.specs, approaches.specs)
            narrow_suites(profile, suites.specs)
        except SpecError as exc:
            errors[display_path(path)] = str(exc)
    return errors
