"""Benchmark harness for fine-tuning pre-trained text encoders.

Data flow: task spec (tasks/*.yaml, harness.specs) → data (harness.data) → model + approach (harness.models,
harness.approaches) → train and evaluate (harness.training) → result record (harness.results) → the run's board,
published with `python -m harness leaderboard --publish` (harness.report). Jobs and suite kinds (harness.jobs,
harness.kinds) say what is trained; the engine (harness.engine) runs them; profiles (profiles/*.yaml) set the scale.
"""

__version__ = "0.1.0"
