"""An embedded, deterministic stand-in for DocuSign (Monitor, Admin, eSignature, OAuth) and Entra ID.

The demo and the tests run the whole pipeline against it with no credentials:
in process as an ``httpx`` transport (``DocuSignSimulator.transport()``) or
over TCP (``serve()``, or ``python -m dsassets.simulator``). The world is a
pure function of the seed and the date, with planted incidents listed by
``ground_truth()``.
"""

from dsassets.simulator.config import SimulatorConfig
from dsassets.simulator.incidents import POLICIES
from dsassets.simulator.server import serve
from dsassets.simulator.simulator import DocuSignSimulator
from dsassets.simulator.transport import Fault, SimulatorTransport

FaultPlan = list[Fault]

__all__ = ["DocuSignSimulator", "Fault", "FaultPlan", "POLICIES", "SimulatorConfig", "SimulatorTransport", "serve"]
