"""`mlxagent tune`: LoRA adapters trained on the user's own accepted work.

dataset.py turns saved sessions into examples rendered exactly as the model sees them,
synthetic.py makes traces with the task generator, train.py trains with mlx-lm's tuner,
adapters.py stores and loads `MODEL+NAME`, evaluate.py compares base and tuned, command.py
is the CLI. Nothing is imported here, so `from mlxagent.tune import adapters` stays light.
"""
