"""Google Compute Engine hosts: ``deployment.GcpMachine(project=, zone=, ...)``.

The seed's scripts import the class from here for their annotations::

    from hydro.gcp import GcpMachine

Credentials come from the environment (GOOGLE_APPLICATION_CREDENTIALS or
gcloud's application-default credentials); they are never printed.
"""

from . import GcpMachine

__all__ = ["GcpMachine"]
