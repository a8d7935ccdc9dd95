"""Training: the one loop every approach uses (loop), evaluation (scoring), multi-task samplers, how the model a
job trains is built and kept (checkpoints), and what a job reports while it runs (memory, progress)."""
