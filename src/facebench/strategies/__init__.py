"""Cloud, edge and hybrid deployments measured end to end over emulated network links."""
