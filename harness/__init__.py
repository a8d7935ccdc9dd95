"""Benchmark harness for fine-tuning pre-trained text encoders.

Data flow: task spec (tasks/*.yaml) → data → model + approach → train → evaluate → result record
→ leaderboard.md. Profiles (profiles/*.yaml) set the scale of a run.
"""

__version__ = "0.1.0"
