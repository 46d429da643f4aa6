"""Hosts reached over SSH: ``deployment.SshHost(host, user=, port=, key=)``.

Keys come from ``key=``, the SSH agent or ~/.ssh, and hosts are checked
against ~/.ssh/known_hosts.
"""

from . import SshHost

__all__ = ["SshHost"]
