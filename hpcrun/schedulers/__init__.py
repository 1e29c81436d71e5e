"""Schedulers: data plus pure functions (argv builders, output parsers, state maps).

One module per scheduler; nothing here runs a command. The service runs the argv through a
transport and hands the output back to the parsers.
"""
