"""Go-live sign-off: GO/NO-GO per site, district and phase, resting on inspectable evidence.

`evidence` gathers facts, `decision` judges them against `criteria` (fail-closed), `waivers`
records approved exceptions, and the `report_*` modules write what was decided and why.
"""
