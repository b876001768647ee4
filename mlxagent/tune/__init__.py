"""`mlxagent tune`: LoRA adapters trained on the user's own accepted work.

dataset.py turns saved sessions into examples rendered exactly as the model sees them,
synthetic.py makes traces with the task generator, train.py trains with mlx-lm's tuner
(packing.py feeds it packed sequences, forward.py runs the model pass, attention.py is numpy
attention on the CPU), adapters.py saves `MODEL+NAME` (model/adapters.py finds and loads it),
evaluate.py compares base and tuned, command.py is the CLI. Nothing is imported here, so
`from mlxagent.tune import adapters` stays light.
"""
