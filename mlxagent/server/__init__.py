"""The OpenAI-compatible HTTP server (`mlxagent serve`).

One module per job: `schemas` checks request bodies, `store` finds and installs models,
`jobs` runs installs in the background, `worker` owns the model on one thread and runs
generations in turn, `provider` loads real models behind a prompt-cache pool (`cache`),
`guard_steer` applies the read-loop guard to a client's conversation, `responses` writes
OpenAI-shaped JSON and SSE, and `app` wires them into Starlette routes and `serve()`.

Nothing here imports Textual or Rich.
"""
