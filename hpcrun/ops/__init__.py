"""Operations: the only place that combines spec, site, render, transport, scheduler and store."""
