"""Google Compute Engine hosts: ``deployment.GcpMachine(project=, zone=, ...)``.

The seed's scripts import the class from here::

    from hydro.gcp import GcpMachine

and may call it on their own, ``GcpMachine(project=..., zone=...,
type=...)``: such a host joins the deployment of the first service placed
on it.  The settings a GCP host takes are checked by hydro's core; until
the GCP backend is built in, ``deploy()`` says it is not available yet.

Credentials come from the environment (GOOGLE_APPLICATION_CREDENTIALS or
gcloud's application-default credentials); they are never printed.
"""

from . import GcpMachine

__all__ = ["GcpMachine"]
