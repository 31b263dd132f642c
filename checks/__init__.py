"""Go-live readiness checks: testinfra checks of every site's terminals and the data center.

The checks are the same in the lab and in production; only the testinfra backend
(docker, ssh, ansible) changes. Every result is kept in an append-only store.
"""
