"""The live ops dashboard: HTML page, JSON summary, SSE stream, timelines and referrer status."""
