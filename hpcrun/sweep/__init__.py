"""Parameter sweeps: points (``points``), array chunks (``chunks``) and the point table
(``table``). Pure code: the cron tick that submits and tracks them is built on these."""
