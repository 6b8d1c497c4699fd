"""Domain rules that hold whatever stores or serves them: no I/O, no framework.

Modules here import nothing from `app` outside `app.domain`, so every layer (models,
realtime, services, routers) may import them.
"""
