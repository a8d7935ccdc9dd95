"""The nightly GPU workflow: actionlint passes on it, and it runs the command the README documents for GPUs."""

import re
import shutil
import subprocess

import yaml

from harness.specs import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "nightly-gpu.yml"


def test_actionlint_passes_on_the_workflows():
    actionlint = shutil.which("actionlint")
    assert actionlint, "actionlint is not installed: pip install -e '.[test]'"
    result = subprocess.run([actionlint], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def readme_gpu_command() -> str:
    """The README's full-profile command (its line in a bash block, comment dropped)."""
    blocks = re.findall(r"```bash\n(.*?)```", (PROJECT_ROOT / "README.md").read_text(), flags=re.S)
    lines = [
        line.split("#")[0].strip()
        for block in blocks
        for line in block.splitlines()
        if "--profile full" in line and line.startswith("pytest")
    ]
    assert len(lines) == 1, f"expected one full-profile command in the README's bash blocks, found {lines}"
    return lines[0]


def test_workflow_runs_the_readme_gpu_command():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    (benchmark,) = [step for job in jobs.values() for step in job["steps"] if step.get("id") == "benchmark"]
    assert " ".join(benchmark["run"].split()) == " ".join(readme_gpu_command().split())


def test_workflow_publishes_through_the_publish_step():
    """The committed board changes only through `python -m harness leaderboard --publish` (harness.report.publish)."""
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    (publish,) = [step for job in jobs.values() for step in job["steps"] if step.get("id") == "publish"]
    assert publish["run"].startswith("python -m harness leaderboard --profile full") and "--publish" in publish["run"]


def test_the_nightly_checks_published_numbers_on_distilbert():
    """The published-number gates run against DistilBERT's published GLUE numbers, not only a self-pinned MiniLM."""
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    (gates,) = [step for job in jobs.values() for step in job["steps"] if step.get("id") == "published-gates"]
    command = " ".join(gates["run"].split())
    assert command.startswith("pytest suites/test_published.py --profile full --model distilbert-base-uncased")
    published = yaml.safe_load((PROJECT_ROOT / "suites" / "published.yaml").read_text())
    assert any(ref["model"] == "distilbert-base-uncased" for ref in published["references"])


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (PROJECT_ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, flags=re.S).group(1)
    main_job, test_command = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert main_job.startswith("./dev pytest suites/") and test_command.startswith("./dev pytest tests/")
    assert test_command in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
