"""Compare two engines' tensors by name, find the first divergence, say why."""
