"""Hosts reached over SSH: ``deployment.SshHost(host, user=, port=, key=)``,
or ``SshHost(...)`` on its own, joining the deployment of the first service
placed on it.

Keys come from ``key=``, the SSH agent or ~/.ssh, and hosts are checked
against ~/.ssh/known_hosts.  Until the SSH backend is built in,
``deploy()`` says it is not available yet.
"""

from . import SshHost

__all__ = ["SshHost"]
