"""The data center's building blocks, one ComponentResource a module."""

from __future__ import annotations

from infra.components.citizen_database import CitizenDatabase, CitizenDatabaseArgs
from infra.components.datacenter import DataCenter, DataCenterArgs
from infra.components.district_network import DistrictNetwork, DistrictNetworkArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.portal import Portal, PortalArgs
from infra.components.sms_switchboard import SmsSwitchboard, SmsSwitchboardArgs

__all__ = [
    "CitizenDatabase",
    "CitizenDatabaseArgs",
    "DataCenter",
    "DataCenterArgs",
    "DistrictNetwork",
    "DistrictNetworkArgs",
    "Monitoring",
    "MonitoringArgs",
    "Portal",
    "PortalArgs",
    "SmsSwitchboard",
    "SmsSwitchboardArgs",
]
