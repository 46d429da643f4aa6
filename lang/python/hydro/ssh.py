"""Hosts reached over SSH: ``deployment.SshHost(host, user=, port=, key=)``,
or ``SshHost(...)`` on its own, joining the deployment of the first service
placed on it.

Keys come from ``key=``, the SSH agent or ~/.ssh, and hosts are checked
against ~/.ssh/known_hosts.  docs/ssh.md lists the settings.
"""

from . import SshHost

__all__ = ["SshHost"]
