"""workflows.yaml: models, variables and loading with file:line errors."""
