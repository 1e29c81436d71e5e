"""Transports: run commands and move files on the machine where jobs are submitted.

``local`` (subprocess) and ``ssh`` (paramiko) / ``openssh`` (the ssh binary) share the
``Transport`` interface in ``base.py``; ``open_transport`` picks one for a site. The two
SSH transports share ``remote.RemoteTransport`` (``run``, rsync transfers), ``rsync``
(its command line and errors) and ``ssh_endpoint`` (``~/.ssh/config``, messages);
``rsh_proxy`` lets rsync ride on the paramiko connection, ``sftp_files`` writes and
reads small files over its SFTP session.
"""
