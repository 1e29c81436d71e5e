"""click commands: translate arguments to ops calls and results to text/JSON. No logic."""
