"""Discovers the YAML-declared tasks, approaches and profiles and checks them across files.

A broken file does not stop the others: loaders return the valid specs and, per file, its errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from harness.approaches import validate_method_params
from harness.errors import SpecError
from harness.specs import (
    APPROACHES_DIR,
    PROFILES_DIR,
    SUITES_DIR,
    TASKS_DIR,
    ApproachSpec,
    ProfileSpec,
    TaskSpec,
    SPEC_SUFFIXES,
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
                raise SpecError(f"{source}: field 'name': '{spec.name}' is declared by {catalog.sources[spec.name]} already")
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
    if path.suffix in SPEC_SUFFIXES:
        return load_spec(ProfileSpec, path)
    candidates = [p for p in spec_files(directory) if p.stem == name_or_path]
    if not candidates:
        known = ", ".join(sorted(p.stem for p in spec_files(directory)))
        raise SpecError(f"unknown profile '{name_or_path}': choose one of {known} ({display_path(directory)}/)")
    if len(candidates) > 1:
        raise SpecError(f"profile '{name_or_path}': both {' and '.join(display_path(p) for p in candidates)} exist; keep one")
    return load_spec(ProfileSpec, candidates[0])


def check_profile_tasks(profile: ProfileSpec, tasks: dict) -> None:
    """Every task a profile names (in `learns`, `task_overrides`, ...) is a valid task of tasks/."""
    for field_name, names in profile.named_tasks().items():
        unknown = sorted(names - set(tasks))
        if unknown:
            raise SpecError(f"profile '{profile.name}': field '{field_name}': unknown or invalid task {', '.join(unknown)}")


def load_suites(tasks: dict, approaches: dict, directory: Path = SUITES_DIR) -> Catalog:
    """Suite YAMLs by name; each names its `kind` (harness.suitekinds), which picks its schema."""
    from harness.suitekinds import kinds

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
    errors.update(load_suites(tasks.specs, approaches.specs).errors)
    for path in spec_files(PROFILES_DIR):
        try:
            check_profile_tasks(load_profile(str(path)), tasks.specs)
        except SpecError as exc:
            errors[display_path(path)] = str(exc)
    return errors
