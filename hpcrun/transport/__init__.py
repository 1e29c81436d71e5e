"""Transports: run commands and move files on the machine where jobs are submitted.

``local`` (subprocess) and ``ssh`` (paramiko) / ``openssh`` (the ssh binary) share the
``Transport`` interface in ``base.py``; ``open_transport`` picks one for a site. The two
SSH transports share ``remote.RemoteTransport`` (``run``, rsync transfers), ``rsync``
(its command line and errors) and ``ssh_endpoint`` (``~/.ssh/config``, messages);
``rsh_proxy`` lets rsync ride on the paramiko connection; ``shell_noise`` checks that the
login shell prints nothing and keeps its text out of parsed output. No SFTP anywhere:
small files go through plain commands, trees through rsync.
"""
