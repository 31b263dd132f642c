"""A staging data-center host on this machine, reached only as production's is: over ssh.

`dvc-rollout staging up --stack S` starts a second Docker engine (its own data root,
socket, exec root, bridge and address pools; the machine's own engine is left as it is),
a dedicated sshd on 127.0.0.1 whose one account may do nothing but speak to that engine
(`docker system dial-stdio`), and the data center's registry on that engine. The stack's
`dvc-rollout:dockerHost` (`ssh://…`) and `dvc-rollout:registry` say where; `staging down`
removes all of it.
"""
