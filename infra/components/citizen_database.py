"""The citizen database: PostgreSQL on the internal `data` network only.

It holds synthetic citizen records in the lab (the schema ships with the image) and the
dossiers the portal receives. Its password is a config secret; it publishes no port,
so nothing outside the data network can reach it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from infra.components import common

PORT = 5432
DATA_DIR = "/var/lib/dvc-pg"


@dataclass
class CitizenDatabaseArgs:
    stack: str
    prefix: str
    data_network: pulumi.Input[str]
    password: pulumi.Output[str]
    db_name: str = "dvc"
    db_user: str = "dvc"
    # HOST:PORT of the registry the Docker host pulls images from ("" = built on it).
    registry: str = ""


class CitizenDatabase(pulumi.ComponentResource):
    """PostgreSQL with its data volume, reachable as `<prefix>postgres:5432` on `data`."""

    container: docker.Container
    volume: docker.Volume
    host: str

    def __init__(
        self, name: str, args: CitizenDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dvc:data:CitizenDatabase", name, None, opts)
        self.host = f"{args.prefix}postgres"
        self.volume = docker.Volume(
            f"{name}-pgdata",
            name=f"{args.prefix}pgdata",
            labels=common.volume_labels(args.stack),
            opts=common.child(self),
        )
        image = common.image("postgres", f"{name}-image", common.child(self), args.registry)
        self.container = docker.Container(
            f"{name}-postgres",
            name=self.host,
            hostname=self.host,
            image=image.image_id,
            envs=[
                f"POSTGRES_DB={args.db_name}",
                f"POSTGRES_USER={args.db_user}",
                pulumi.Output.concat("POSTGRES_PASSWORD=", args.password),
            ],
            volumes=[
                docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=DATA_DIR)
            ],
            networks_advanced=common.attach([args.data_network], self.host),
            healthcheck=common.healthcheck(
                'pg_isready -q -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
            ),
            restart=common.RESTART,
            labels=common.container_labels(args.stack, "postgres"),
            opts=common.child(self),
        )
        self.register_outputs(
            {"host": self.host, "port": PORT, "database": args.db_name, "user": args.db_user}
        )
