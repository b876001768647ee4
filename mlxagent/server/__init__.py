"""The OpenAI-compatible HTTP server (`mlxagent serve`).

Endpoints (see `app`):

    GET    /health, /v1/health               liveness, loaded model, queue length
    GET    /v1/models, /v1/models/{id}       installed models and aliases, or one of them
    POST   /v1/models/install                install a model in the background (a job)
    GET    /v1/models/install[/{job}]        all install jobs, or one
    DELETE /v1/models/install/{job}          cancel an install
    POST   /v1/chat/completions              chat completions, plain or streamed (SSE)
    POST   /v1/responses                     OpenAI's Responses API, plain or streamed
    POST   /v1/messages                      Anthropic's Messages API, plain or streamed
    GET    /v1/stats                         token counts, prompt-cache pool, process memory

One module per job: `schemas` checks request bodies, `store` finds and installs models,
`jobs` runs installs in the background, `worker` owns the model on one thread and runs
generations in turn, `provider` loads real models behind a prompt-cache pool (`cache`),
`guard_steer` applies the read-loop guard to a client's conversation, `auth` checks API
keys; `chat_api`, `responses_api` and `messages_api` turn each API's requests into chat
requests (tool definitions through `tool_shapes`) and write its JSON and SSE, and `app`
wires them into Starlette routes and `serve()`.

Nothing here imports Textual or Rich.
"""
