"""The engines that run a training step (registry.select_engine decides which)."""
