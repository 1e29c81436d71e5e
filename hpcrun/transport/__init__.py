"""Transports: run commands and move files on the machine where jobs are submitted.

``local`` (subprocess) and ``ssh`` (paramiko) / ``openssh`` (the ssh binary) share the
``Transport`` interface in ``base.py``; ``open_transport`` picks one for a site.
"""
