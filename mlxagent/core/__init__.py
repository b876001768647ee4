"""The engine: workspace, tools, proposals, guard and agent loop. Never imports Textual or Rich."""
