"""Model runtime: loading (MLX dir, hub id, GGUF import), generation, session cache.

No Textual or Rich imports here: the runtime runs headless.
"""
