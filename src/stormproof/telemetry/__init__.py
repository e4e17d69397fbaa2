"""Telemetry: subscribers of the runtime events (``stormproof.engine.events``).

``logs`` (standard library only) writes console or JSON lines; ``metrics`` exposes
Prometheus metrics and needs the ``stormproof[telemetry]`` extra (prometheus-client);
``alarms`` (standard library only) evaluates alarms and sends their notifications.
Only ``app`` and ``cli`` import this package; it imports the engine and below.
"""
