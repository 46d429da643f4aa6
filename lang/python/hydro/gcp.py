"""Google Compute Engine hosts: ``deployment.GcpMachine(project=, zone=, ...)``.

The seed's scripts import the class from here::

    from hydro.gcp import GcpMachine

and may call it on their own, ``GcpMachine(project=..., zone=...,
type=...)``: such a host joins the deployment of the first service placed
on it.  Hydro Deploy's names work too: ``hydro.GCPNetwork(project=,
existing=)`` and ``deployment.GCPComputeEngineHost(project=, machine_type=,
image=, region=, network=, user=)``.

``deploy()`` creates the VM through the Compute Engine API (with a time to
live: ``ttl=`` seconds, ``ttl=None`` for none) and the end of the run, or
``terminate()``, deletes it; docs/gcp.md says what runs on it today.
Credentials come from the environment (GOOGLE_APPLICATION_CREDENTIALS,
gcloud's application-default credentials, or the metadata server); they are
never printed.
"""

from . import GCPNetwork, GcpMachine, GcpNetwork

__all__ = ["GcpMachine", "GCPNetwork", "GcpNetwork"]
