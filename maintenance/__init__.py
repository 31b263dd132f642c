"""Planned outages: Alertmanager silences for a district (or one unit or service of it).

`dvc-rollout maintenance add|list|end` makes, lists and ends them through Alertmanager's
v2 API, with the author and the reason as the silence's own fields, so that Alertmanager
is the one record of every window (the sign-off reads them back from it). Recurring
windows are not silences: they are `maintenance_windows:` in oncall.yaml, rendered into
Alertmanager's time_intervals by `configure`.
"""
